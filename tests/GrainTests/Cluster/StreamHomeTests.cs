using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;
using Platform.Grains.Cluster;
using Platform.Grains.Node;
using Platform.Grains.Streams;
using Orleans.Runtime;
using Platform.Grains.Streaming;
using Platform.GrainTests.Infrastructure;
using Platform.GrainTests.Streaming;

namespace Platform.GrainTests.Cluster;

/// <summary>
/// Three silos, each with its own store directory and one shared catalog store: stream partitions live on the home
/// node the catalog picks, activate nowhere else, and are offline (never empty) while their home is away.
/// </summary>
public sealed partial class StreamHomeTests : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private InProcessTestCluster? _cluster;
    private readonly SharedGrainStorage.Records _catalogRecords = new();
    private readonly ReplicaAppendGate _replicaAppends = new();
    private readonly DamagedReplicaAnswers _damagedReplicas = new();
    private readonly DirectoryLoss _directoryLoss = new();
    /// <summary>Each silo's data id, as its store would record it; a test that wipes a store gives it a new one.</summary>
    private readonly Dictionary<string, string> _dataIds = [];

    private InProcessTestCluster Cluster => _cluster!;
    private IStreamCatalogGrain Catalog => Cluster.Client.GetGrain<IStreamCatalogGrain>(0);

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(3);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((options, silo) =>
        {
            var store = Path.Combine(_root.Path, options.SiloName);
            string dataId;
            lock (_dataIds)
                dataId = _dataIds.TryGetValue(options.SiloName, out var id) ? id : _dataIds[options.SiloName] = Guid.NewGuid().ToString("N");
            silo.Services.AddSingleton(new NodeIdentity(options.SiloName, dataId, store, "homes"));
            silo.AddPlatformStreaming(o => o.StoreDirectory = store);
            silo.AddIncomingGrainCallFilter(_replicaAppends.FilterFor(options.SiloName));
            silo.AddIncomingGrainCallFilter(_damagedReplicas.FilterFor(options.SiloName));
            silo.AddIncomingGrainCallFilter(_directoryLoss.Filter);
            silo.Services.AddKeyedSingleton<IGrainStorage>(StreamCatalogGrain.StorageName, (sp, _) =>
                new SharedGrainStorage(_catalogRecords, sp.GetRequiredService<Orleans.Serialization.Serializer>()));
            silo.AddMemoryGrainStorage("PubSubStore");
            silo.AddPlatformStreams("platform", o => o.Namespaces.Add("probe"),
                s => s.ConfigurePullingAgent(ob => ob.Configure(o => o.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(20))));
        });
        builder.ConfigureClient(client => client.AddPlatformStreams("platform", o => o.Namespaces.Add("probe")));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }
        _root.Dispose();
    }

    [Fact]
    public async Task Partitions_of_one_stream_spread_over_the_nodes_and_their_data_stays_home()
    {
        var config = new PlatformStreamConfig { Name = "SPREAD", Subjects = ["spread.>"], Partitions = 3 }.WithDefaults();
        Assert.Null((await Catalog.Create(config)).Error);

        var homes = (await Catalog.Get("SPREAD"))!.Homes;
        Assert.Equal(3, homes.Distinct().Count());
        Assert.All(homes, home => Assert.Contains(Cluster.Silos, s => s.Name == home));

        for (int p = 0; p < 3; p++)
        {
            var subject = SubjectOf(p, 3);
            var acks = await new FrameBatch().Add(subject, "m" + p).AppendTo(Cluster.Client.GetGrain<IStreamGrain>(StreamKeys.Partition("SPREAD", p)));
            Assert.Null(acks[0].Error);
            foreach (var silo in Cluster.Silos)
                Assert.Equal(silo.Name == homes[p], Directory.Exists(StoreOf(silo).PartitionDirectory("SPREAD", p)));
        }
    }

    [Fact]
    public async Task A_move_carries_every_partition_with_its_data_to_the_node_named_and_leaves_nothing_behind()
    {
        var config = new PlatformStreamConfig { Name = "MOVE", Subjects = ["move.>"], Partitions = 3 }.WithDefaults();
        Assert.Null((await Catalog.Create(config)).Error);
        var homes = (await Catalog.Get("MOVE"))!.Homes;
        var stored = new Dictionary<(int Partition, ulong Seq), StoredMessage>();
        for (int p = 0; p < 3; p++)
        {
            var grain = Cluster.Client.GetGrain<IStreamGrain>(StreamKeys.Partition("MOVE", p));
            for (int i = 0; i < 5; i++)
                Assert.Null((await new FrameBatch().Add(SubjectOf(p, 3, "move"), $"p{p}-{i}").AppendTo(grain))[0].Error);
            Assert.True((await grain.DeleteMessage(2, noErase: true)).Value);
            foreach (ulong seq in new ulong[] { 1, 3, 4, 5 })
                stored[(p, seq)] = (await grain.GetMessage(new MessageQuery(seq, null, null))).Value!;
        }
        var to = homes[1];

        Assert.Equal(10044, (await Catalog.Move("MOVE", null, "nowhere")).Error?.ErrCode);
        var moved = await Catalog.Move("MOVE", null, to);
        Assert.Null(moved.Error);
        Assert.All(moved.Value!.Homes, home => Assert.Equal(to, home));
        foreach (var silo in Cluster.Silos)
            for (int p = 0; p < 3; p++)
                Assert.Equal(silo.Name == to, Directory.Exists(StoreOf(silo).PartitionDirectory("MOVE", p)));
        for (int p = 0; p < 3; p++)
        {
            var grain = Cluster.Client.GetGrain<IStreamGrain>(StreamKeys.Partition("MOVE", p));
            foreach (ulong seq in new ulong[] { 1, 3, 4, 5 })
            {
                var message = (await grain.GetMessage(new MessageQuery(seq, null, null))).Value!;
                Assert.Equal((stored[(p, seq)].Subject, Convert.ToHexString(stored[(p, seq)].Payload), stored[(p, seq)].TimestampNanos), (message.Subject, Convert.ToHexString(message.Payload), message.TimestampNanos));
            }
            Assert.Equal(ApiError.NoMessageFound, (await grain.GetMessage(new MessageQuery(2, null, null))).Error);
            Assert.Equal(6UL, (await new FrameBatch().Add(SubjectOf(p, 3, "move"), "after").AppendTo(grain))[0].Sequence);
        }
    }

    [Fact]
    public async Task A_move_is_refused_while_the_old_home_is_offline()
    {
        var (config, home) = await CreateAwayFromPrimaryAsync("OFFMOVE");
        await Cluster.StopSiloAsync(home);
        var refused = await Catalog.Move(config.Name, home.Name, null);
        Assert.Equal(ApiError.StreamOffline, refused.Error);
        Assert.Equal(home.Name, (await Catalog.Get(config.Name))!.HomeOf(0));
    }

    [Fact]
    public async Task A_stream_whose_home_is_down_is_offline_cannot_be_recreated_and_comes_back_whole()
    {
        // One stream per node (the catalog balances), so one of them lives on a node that can be restarted by name.
        var configs = new List<PlatformStreamConfig>();
        for (int i = 0; i < 3; i++)
        {
            var config = new PlatformStreamConfig { Name = $"H{i}", Subjects = [$"h{i}.>"] }.WithDefaults();
            Assert.Null((await Catalog.Create(config)).Error);
            configs.Add(config);
        }
        var primary = Cluster.Silos[0];
        string? awayName = null;
        PlatformStreamConfig? away = null;
        foreach (var config in configs)
        {
            var home = (await Catalog.Get(config.Name))!.Homes[0];
            if (home != primary.Name)
                (awayName, away) = (home, config);
        }
        Assert.NotNull(away);
        var awayGrain = Cluster.Client.GetGrain<IStreamGrain>(away!.Name);
        for (int i = 0; i < 5; i++)
            Assert.Null((await new FrameBatch().Add(away.Subjects[0].Replace(">", "x"), "kept" + i).AppendTo(awayGrain))[0].Error);

        var awaySilo = Cluster.Silos.Single(s => s.Name == awayName);
        await Cluster.StopSiloAsync(awaySilo);

        await Assert.ThrowsAsync<StreamOfflineException>(() => Catalog.Create(away));
        await Assert.ThrowsAsync<StreamOfflineException>(() => awayGrain.GetInfo(false, null));
        await Assert.ThrowsAsync<StreamOfflineException>(() => new FrameBatch().Add(away.Subjects[0].Replace(">", "x"), "lost").AppendTo(awayGrain));
        foreach (var silo in Cluster.Silos)
            Assert.False(Directory.Exists(StoreOf(silo).PartitionDirectory(away.Name, 0)), $"{away.Name} has a directory on {silo.Name}");
        foreach (var config in configs)
            if (config != away)
                Assert.Null((await Cluster.Client.GetGrain<IStreamGrain>(config.Name).GetInfo(false, null)).Error);

        Assert.Equal(awayName, (await Cluster.RestartSiloAsync(awaySilo))!.Name);
        var info = await awayGrain.GetInfo(false, null);
        Assert.Null(info.Error);
        Assert.Equal(5UL, info.Value!.State.Messages);
        Assert.Equal(5UL, info.Value.State.LastSequence);
    }

    [Fact]
    public async Task A_stream_whose_home_comes_back_with_a_wiped_store_stays_offline_and_nothing_is_created_there()
    {
        var (config, awaySilo) = await CreateAwayFromPrimaryAsync("W");
        var grain = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        Assert.Null((await new FrameBatch().Add(config.Subjects[0].Replace(">", "x"), "acked").AppendTo(grain))[0].Error);
        var store = StoreOf(awaySilo);
        var directory = store.PartitionDirectory(config.Name, 0);

        await Cluster.StopSiloAsync(awaySilo);
        Directory.Delete(Path.Combine(_root.Path, awaySilo.Name), recursive: true);
        lock (_dataIds)
            _dataIds[awaySilo.Name] = Guid.NewGuid().ToString("N");
        await Cluster.RestartSiloAsync(awaySilo);

        var offline = await Assert.ThrowsAsync<StreamOfflineException>(() => grain.GetInfo(false, null));
        Assert.Contains("missing", offline.Message);
        await Assert.ThrowsAsync<StreamOfflineException>(() => new FrameBatch().Add(config.Subjects[0].Replace(">", "x"), "lost").AppendTo(grain));
        await Assert.ThrowsAsync<StreamOfflineException>(() => Catalog.Create(config));
        Assert.False(Directory.Exists(directory));

        // Only the operator gives the lost data up: the partition then starts empty on the node named.
        var primary = Cluster.Silos[0];
        var moved = await Catalog.MoveHome(config.Name, 0, primary.Name);
        Assert.Null(moved.Error);
        Assert.Equal(primary.Name, moved.Value!.Homes[0]);
        Assert.Null((await new FrameBatch().Add(config.Subjects[0].Replace(">", "x"), "after").AppendTo(grain))[0].Error);
        Assert.Equal(1UL, (await grain.GetInfo(false, null)).Value!.State.Messages);
        Assert.True(Directory.Exists(StoreOf(primary).PartitionDirectory(config.Name, 0)));
        Assert.NotNull((await Catalog.MoveHome(config.Name, 0, awaySilo.Name)).Error);
    }

    /// <summary>Creates streams until one lives on a silo other than the primary (which cannot be restarted).</summary>
    private async Task<(PlatformStreamConfig Config, InProcessSiloHandle Home)> CreateAwayFromPrimaryAsync(string prefix)
    {
        for (int i = 0; ; i++)
        {
            var config = new PlatformStreamConfig { Name = $"{prefix}{i}", Subjects = [$"{prefix.ToLowerInvariant()}{i}.>"] }.WithDefaults();
            Assert.Null((await Catalog.Create(config)).Error);
            var home = (await Catalog.Get(config.Name))!.Homes[0];
            if (home != Cluster.Silos[0].Name)
                return (config, Cluster.Silos.Single(s => s.Name == home));
        }
    }

    [Fact]
    public async Task A_catalog_that_lost_a_race_for_its_store_fails_the_change_and_reloads()
    {
        var first = new PlatformStreamConfig { Name = "RACE1", Subjects = ["race1.>"] }.WithDefaults();
        Assert.Null((await Catalog.Create(first)).Error);
        // Another activation (Orleans allows two while membership settles) wrote the catalog since this one read it.
        foreach (var key in _catalogRecords.Keys)
            _catalogRecords[key] = (_catalogRecords[key].Data, "someone-else");

        var second = new PlatformStreamConfig { Name = "RACE2", Subjects = ["race2.>"] }.WithDefaults();
        await Assert.ThrowsAnyAsync<Exception>(() => Catalog.Create(second));
        // The stale activation went away; the next one reads the store and carries on.
        Assert.Null((await Catalog.Create(second)).Error);
        Assert.NotNull(await Catalog.Get("RACE1"));
    }

    [Fact]
    public async Task Every_silo_knows_a_change_before_the_catalog_replies_and_a_joining_silo_catches_up()
    {
        var config = new PlatformStreamConfig { Name = "SEEN", Subjects = ["seen.>"] }.WithDefaults();
        Assert.Null((await Catalog.Create(config)).Error);
        foreach (var silo in Cluster.Silos)
            Assert.True(ViewOf(silo).TryGet("SEEN", out _), $"{silo.Name} does not know SEEN");

        var joined = await Cluster.StartAdditionalSiloAsync();
        Assert.True(ViewOf(joined).TryGet("SEEN", out var entry));
        Assert.Equal((await Catalog.Get("SEEN"))!.Homes, entry.Homes);

        Assert.True(await Catalog.Delete("SEEN"));
        foreach (var silo in Cluster.Silos)
            Assert.False(ViewOf(silo).TryGet("SEEN", out _), $"{silo.Name} still knows SEEN");
    }

    [Fact]
    public async Task The_orleans_stream_provider_reads_each_namespace_on_its_streams_home()
    {
        var stream = Cluster.Client.GetStreamProvider("platform").GetStream<TestEvent>(StreamId.Create("probe", "k1"));
        await stream.OnNextAsync(new TestEvent(1, "first"));
        var home = (await Catalog.Get("probe"))!.Homes[0];

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!HomeProbeGrain.Silos.ContainsKey("k1") && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal(home, HomeProbeGrain.Silos["k1"]);
    }

    private CatalogView ViewOf(InProcessSiloHandle silo) => Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<CatalogView>();

    private StreamStore StoreOf(InProcessSiloHandle silo) => Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<StreamStore>();

    private static string SubjectOf(int partition, int partitions, string prefix = "spread")
    {
        for (int i = 0; ; i++)
            if (StreamKeys.PartitionOf($"{prefix}.{i}", partitions) == partition)
                return $"{prefix}.{i}";
    }
}
