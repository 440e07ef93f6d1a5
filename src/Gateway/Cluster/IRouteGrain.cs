namespace Platform.Gateway.Cluster;

/// <summary>A silo's end of the routes: one activation per silo, keyed by the silo's address, pinned there.</summary>
[Alias("platform.IRouteGrain")]
internal interface IRouteGrain : IGrainWithStringKey
{
    [Alias("Deliver")]
    Task Deliver(RouteBatch batch);
}
