namespace Platform.Grains.Cluster;

/// <summary>
/// One silo's <see cref="CatalogView"/>, reachable from the catalog grain wherever that runs. Keyed by the silo's
/// address (<see cref="SiloPinnedPlacement"/>).
/// </summary>
[Alias("platform.ICatalogViewGrain")]
internal interface ICatalogViewGrain : IGrainWithStringKey
{
    /// <summary>Applies one change; false when the view missed earlier changes and needs <see cref="Load"/>.</summary>
    [Alias("Apply")] Task<bool> Apply(long version, CatalogEntry? set, string? removed, string leader);

    [Alias("Load")] Task Load(CatalogSnapshot snapshot);

    /// <summary>The identity of the data in this silo's store, recorded with each partition made here.</summary>
    [Alias("DataId")] Task<string> DataId();
}
