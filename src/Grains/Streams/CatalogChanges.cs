namespace Platform.Grains.Streams;

/// <summary>
/// The stream catalog's changes as this silo sees them. The catalog grain reports every create, update and delete here
/// before it replies, whichever path asked for it (the $JS.API, <see cref="Client.PlatformStreams"/>, an Orleans
/// client), so what listens (the gateway's capture table) is current before the caller hears back.
/// </summary>
public sealed class CatalogChanges
{
    /// <summary>A stream was created or its configuration changed.</summary>
    public event Action<PlatformStreamConfig>? Set;

    /// <summary>A stream was deleted.</summary>
    public event Action<string>? Removed;

    internal void OnSet(PlatformStreamConfig config) => Set?.Invoke(config);

    internal void OnRemoved(string name) => Removed?.Invoke(name);
}
