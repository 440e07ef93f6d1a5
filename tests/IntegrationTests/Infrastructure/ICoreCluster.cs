namespace Platform.IntegrationTests.Infrastructure;

/// <summary>Nodes that serve one NATS system, as a client sees them: the silos of an Orleans cluster or routed nats-servers.</summary>
public interface ICoreCluster : IAsyncDisposable
{
    /// <summary>Each node's client URL; node i is Urls[i].</summary>
    IReadOnlyList<string> Urls { get; }

    /// <summary>Takes node <paramref name="node"/> out of the cluster for good.</summary>
    Task StopNodeAsync(int node);
}
