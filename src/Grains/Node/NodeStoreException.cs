namespace Platform.Grains.Node;

/// <summary>A store directory that this process must not open: locked by another process, or another node's.</summary>
public sealed class NodeStoreException(string message) : Exception(message);
