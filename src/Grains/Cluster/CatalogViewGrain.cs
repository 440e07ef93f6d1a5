using Orleans.Concurrency;
using Platform.Grains.Node;

namespace Platform.Grains.Cluster;

[SiloPinnedPlacement, Reentrant, CollectionAgeLimit(AlwaysActive = true)]
internal sealed class CatalogViewGrain(CatalogView view, NodeIdentity node) : Grain, ICatalogViewGrain
{
    public Task<bool> Apply(long version, CatalogEntry? set, string? removed, string leader)
        => Task.FromResult(view.Apply(version, set, removed, leader));

    public Task Load(CatalogSnapshot snapshot)
    {
        view.Load(snapshot);
        return Task.CompletedTask;
    }

    public Task<string> DataId() => Task.FromResult(node.DataId);
}
