namespace Platform.Grains.Streaming;

/// <summary>The client's namespace discovery, run when a joining silo becomes active (its grains produce from then on).</summary>
internal sealed class SiloNamespaceDiscovery(string provider, NamespaceDiscovery discovery) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(NamespaceDiscovery) + "." + provider, ServiceLifecycleStage.Active, discovery.DiscoverOnSiloAsync);
}
