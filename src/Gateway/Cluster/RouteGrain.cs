using Platform.Grains.Cluster;

namespace Platform.Gateway.Cluster;

/// <summary>
/// Hands route batches to this silo's gateway. Addressing a silo needs something that lives exactly there: Orleans'
/// silo-to-silo system targets are not public, and grain observers would need a registry grain that itself moves when
/// its silo dies. A grain whose key names its silo, placed only there (<see cref="SiloPinnedPlacement"/>), needs
/// neither: any silo can address any other from membership alone, and a call to a silo that is gone fails instead of
/// activating the grain somewhere else.
/// </summary>
/// <remarks>
/// Not reentrant: batches are applied one at a time, in the order each sender's single in-flight call delivers them.
/// Applying a batch never awaits, so this costs no concurrency.
/// </remarks>
[SiloPinnedPlacement]
internal sealed class RouteGrain(ClusterRoutes routes) : Grain, IRouteGrain
{
    public static string KeyOf(SiloAddress silo) => silo.ToParsableString();

    public Task Deliver(RouteBatch batch)
    {
        routes.Receive(batch.Origin, batch.Frames);
        return Task.CompletedTask;
    }
}
