using Microsoft.Extensions.Logging;

namespace Platform.Grains.Streaming;

/// <summary>
/// When a client (or a user's silo without the platform) starts, asks the cluster what its provider serves: a provider name the silos do not have, or a
/// namespace listed on the client that they do not serve, fails the start with the reason (either would store events
/// that are never delivered, or subscribe to what never comes). A client that lists no namespaces takes the cluster's;
/// either way it takes the silos' queues per namespace.
/// </summary>
internal sealed class NamespaceDiscovery(string provider, ProviderNamespaces namespaces, IReadOnlyList<string> configured, IGrainFactory grains,
    ILogger<NamespaceDiscovery> logger) : ILifecycleParticipant<IClusterClientLifecycle>
{
    public void Participate(IClusterClientLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(NamespaceDiscovery) + "." + provider, ServiceLifecycleStage.Active, DiscoverAsync);

    /// <summary>How long a silo that just joined waits to learn the platform silos' grain classes (Orleans' cluster manifest).</summary>
    private static readonly TimeSpan ManifestWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A silo learns the other silos' grain classes shortly after it becomes active; until then the platform's grains
    /// cannot be called from it (ArgumentException: no implementation), so it asks again until they can.
    /// </summary>
    internal async Task DiscoverOnSiloAsync(CancellationToken cancellationToken)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await DiscoverAsync(cancellationToken);
                return;
            }
            catch (ArgumentException ex)
            {
                if (waited.Elapsed > ManifestWait)
                    throw new InvalidOperationException(
                        $"No silo of the cluster hosts the platform (after {ManifestWait.TotalSeconds} s): the platform stream provider \"{provider}\" cannot start.", ex);
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
        }
    }

    private async Task DiscoverAsync(CancellationToken cancellationToken)
    {
        var served = await grains.GetGrain<IStreamProviderInfoGrain>(provider).Describe()
            ?? throw new InvalidOperationException(
                $"The cluster has no platform stream provider named \"{provider}\": the client must register it under the silos' name.");
        foreach (var ns in configured)
            if (Array.IndexOf(served.Namespaces, ns) < 0)
                throw new InvalidOperationException(
                    $"Orleans stream namespace \"{ns}\" is configured on this client but not served by the cluster's platform stream provider " +
                    $"\"{provider}\" (it serves: {ProviderNamespaces.Describe(served.Namespaces)}).");
        namespaces.Learn(served);
        logger.LogInformation("Platform stream provider {Provider} serves namespaces {Namespaces}, {Queues} queue(s) each", provider,
            ProviderNamespaces.Describe(served.Namespaces), served.QueuesPerNamespace);
    }
}
