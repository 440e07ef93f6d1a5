using Microsoft.Extensions.DependencyInjection;
using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests.Cluster;

/// <summary>
/// A stream's num_replicas changed by an update: copies removed go from their nodes, and copies added are made from the
/// primary's files, in sync at an epoch above any the stream had; the set changes one copy at a time.
/// </summary>
public sealed partial class StreamHomeTests
{
    [Fact]
    public async Task A_replicated_stream_shrinks_to_one_copy_and_grows_again_at_a_newer_epoch()
    {
        var (config, primary) = await CreateReplicatedAsync("RZ", primaryOnFirstSilo: true);
        var grain = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        for (int i = 0; i < 10; i++)
            Assert.Null((await new FrameBatch().Add(SubjectIn(config), $"r3-{i}").AppendTo(grain))[0].Error);
        var before = (await Catalog.Get(config.Name))!.Replicas!;
        // Every set the catalog writes differs from the one before by one copy: 3 to 1 goes by 2, and back again.
        var counts = new List<int>();
        var changes = Cluster.GetSiloServiceProvider(Cluster.Silos[0].SiloAddress).GetRequiredService<CatalogChanges>();
        void Seen(PlatformStreamConfig changed)
        {
            if (changed.Name == config.Name)
                lock (counts)
                    counts.Add(changed.NumReplicas);
        }
        changes.Set += Seen;

        var shrunk = await Catalog.Update(config with { NumReplicas = 1 });
        Assert.Null(shrunk.Error);
        Assert.Equal(1, shrunk.Value!.Config.NumReplicas);
        Assert.Null((await Catalog.Get(config.Name))!.Replicas);
        Assert.Empty(shrunk.Value.Replicas ?? []);
        foreach (var silo in Cluster.Silos)
            Assert.Equal(silo == primary, Directory.Exists(StoreOf(silo).StreamDirectory(config.Name)));
        Assert.Equal(11UL, (await new FrameBatch().Add(SubjectIn(config), "r1").AppendTo(grain))[0].Sequence);

        var grown = await Catalog.Update(config with { NumReplicas = 3 });
        Assert.Null(grown.Error);
        changes.Set -= Seen;
        lock (counts)
            Assert.Equal([2, 1, 2, 3], counts);
        var after = (await Catalog.Get(config.Name))!;
        Assert.Equal(primary.Name, after.HomeOf(0));
        Assert.True(after.Replicas!.Epoch > before.Epoch, $"epoch {after.Replicas.Epoch} after {before.Epoch}");
        Assert.Equal(2, after.Replicas.Nodes.Length);
        // Made from the primary's files while it was closed, the new copies hold everything it held: in sync at once.
        Assert.Equal(after.Replicas.Nodes, after.Replicas.InSync);
        Assert.All(grown.Value!.Replicas!, r => Assert.True(r.Current, $"{r.Name} not current"));
        var ack = (await new FrameBatch().Add(SubjectIn(config), "r3-again").AppendTo(grain))[0];
        Assert.Null(ack.Error);
        Assert.Equal(12UL, ack.Sequence);
        await WaitUntilAsync(async () => (await grain.GetInfo(false, null)).Value!.Replicas!.All(r => r.Current && r.Lag == 0),
            "both new copies current");
        Assert.Equal(12UL, (await grain.GetInfo(false, null)).Value!.State.Messages);
        foreach (var silo in Cluster.Silos)
            Assert.True(Directory.Exists(StoreOf(silo).PartitionDirectory(config.Name, 0)), $"no copy on {silo.Name}");

        // More copies than active nodes: refused with nats-server's answer to that update, the stream unchanged.
        var tooMany = (await Catalog.Update(config with { NumReplicas = 4 })).Error;
        Assert.Equal((400, 10005, "no suitable peers for placement"), (tooMany?.Code, tooMany?.ErrCode, tooMany?.Description));
        Assert.Equal(3, (await Catalog.Get(config.Name))!.Config.NumReplicas);
    }

    [Fact]
    public async Task A_copy_kept_by_a_node_that_was_down_at_a_shrink_is_put_aside_when_the_node_is_picked_again()
    {
        var (config, _) = await CreateReplicatedAsync("RK", primaryOnFirstSilo: true);
        var grain = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        for (int i = 0; i < 3; i++)
            Assert.Null((await new FrameBatch().Add(SubjectIn(config), $"m{i}").AppendTo(grain))[0].Error);
        var replica = (await Catalog.Get(config.Name))!.Replicas!.Nodes[0];
        var kept = Cluster.Silos.Single(s => s.Name == replica);
        await Cluster.StopSiloAsync(kept);
        Assert.Null((await Catalog.Update(config with { NumReplicas = 1 })).Error);
        await Cluster.RestartSiloAsync(kept);
        var store = StoreOf(Cluster.Silos.Single(s => s.Name == kept.Name));
        Assert.True(Directory.Exists(store.PartitionDirectory(config.Name, 0)), "the down node's copy was not kept");

        Assert.Null((await Catalog.Update(config with { NumReplicas = 3 })).Error);
        Assert.Contains(kept.Name, (await Catalog.Get(config.Name))!.Replicas!.Nodes);
        Assert.Single(Directory.GetDirectories(store.Root + ".orphaned", config.Name + "-*"));
        Assert.Equal(4UL, (await new FrameBatch().Add(SubjectIn(config), "after").AppendTo(grain))[0].Sequence);
        await WaitUntilAsync(async () => (await grain.GetInfo(false, null)).Value!.Replicas!.All(r => r.Current && r.Lag == 0),
            "both copies current");
    }

    [Fact]
    public async Task A_memory_stream_keeps_its_replica_count()
    {
        var config = new PlatformStreamConfig { Name = "RZMEM", Subjects = ["rzmem.>"], Storage = StorageType.Memory }.WithDefaults();
        Assert.Null((await Catalog.Create(config)).Error);
        var refused = await Catalog.Update(config with { NumReplicas = 3 });
        Assert.Equal((10052, "replicas of a memory stream can not be changed"), (refused.Error?.ErrCode, refused.Error?.Description));
        Assert.Null((await Catalog.Get(config.Name))!.Replicas);
        Assert.True(await Catalog.Delete(config.Name));
    }
}
