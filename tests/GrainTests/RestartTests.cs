using Orleans.TestingHost;
using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests;

/// <summary>Stops the silo gracefully and starts a new one on the same store directory.</summary>
public sealed class RestartTests : IAsyncLifetime
{
    private readonly TempDirectory _store = new();
    private InProcessTestCluster? _cluster;

    public async Task InitializeAsync() => _cluster = await TestSilo.StartAsync(_store.Path);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
            await TestSilo.StopAsync(_cluster);
        _store.Dispose();
    }

    private IGrainFactory Grains => _cluster!.Client;
    private IStreamCatalogGrain Catalog => Grains.GetGrain<IStreamCatalogGrain>(0);

    private async Task RestartAsync()
    {
        await TestSilo.StopAsync(_cluster!);
        _cluster = null;
        _cluster = await TestSilo.StartAsync(_store.Path);
    }

    private async Task<TestStream> CreateAsync(PlatformStreamConfig config)
    {
        var result = await Catalog.Create(config.WithDefaults());
        Assert.Null(result.Error);
        return Stream(config.Name);
    }

    private TestStream Stream(string name) => new(name, Grains.GetGrain<IStreamGrain>(name));

    [Fact]
    public async Task File_streams_come_back_with_config_messages_gaps_and_sequence()
    {
        var fileConfig = new PlatformStreamConfig { Name = "Orders", Subjects = ["Orders.>"], MaxMsgsPerSubject = 10, Description = "kept" };
        var orders = await CreateAsync(fileConfig);
        var batch = new FrameBatch();
        for (int i = 1; i <= 20; i++)
            batch.Add($"Orders.{(i % 2 == 0 ? "paid" : "new")}", $"o{i}", ("X-Index", i.ToString()));
        await batch.AppendTo(orders.Grain);
        Assert.True((await orders.Grain.DeleteMessage(15, false)).Value);
        Assert.Equal(5ul, (await orders.Grain.Purge(new PurgeRequest(null, 6, 0))).Value);
        var before = await orders.Info(deletedDetails: true);
        var memory = await CreateAsync(new PlatformStreamConfig { Name = "Scratch", Subjects = ["scratch.>"], Storage = StorageType.Memory });
        await memory.Publish("x");

        await RestartAsync();

        var configs = await Catalog.List();
        Assert.Equal(["Orders"], configs.Select(c => c.Name));
        Assert.True(fileConfig.WithDefaults().SameAs(configs[0]));
        orders = Stream("Orders");
        var after = await orders.Info(deletedDetails: true);
        Assert.True(before.Config.SameAs(after.Config));
        Assert.Equal(before.Created, after.Created);
        Assert.Equal(before.State, after.State);
        Assert.Equal(before.Deleted, after.Deleted);
        var messages = await orders.All();
        Assert.Equal(Enumerable.Range(6, 15).Where(i => i != 15).Select(i => $"o{i}"), messages.Select(m => m.Text()));
        Assert.Equal(FrameBatch.HeaderBlock(("X-Index", "20")), System.Text.Encoding.UTF8.GetString(messages[^1].Headers));
        Assert.Equal(21ul, (await orders.Publish("new")).Sequence);
        Assert.Equal(10059, (await Stream("Scratch").Grain.GetInfo(false, null)).Error?.ErrCode);
    }

    [Fact]
    public async Task A_restarted_catalog_still_refuses_overlaps_and_accepts_the_same_config()
    {
        var config = new PlatformStreamConfig { Name = "Events", Subjects = ["events.*"] };
        await CreateAsync(config);

        await RestartAsync();

        Assert.Null((await Catalog.Create(config.WithDefaults())).Error);
        Assert.Equal(10065, (await Catalog.Create(new PlatformStreamConfig { Name = "Other", Subjects = ["events.x"] }.WithDefaults())).Error?.ErrCode);
        Assert.Equal(10058, (await Catalog.Create((config with { MaxMsgs = 1 }).WithDefaults())).Error?.ErrCode);
    }

    [Fact]
    public async Task A_stream_deleted_before_the_restart_stays_deleted()
    {
        await CreateAsync(new PlatformStreamConfig { Name = "Gone", Subjects = ["gone.>"] });
        await Stream("Gone").Publish("x");
        Assert.True(await Catalog.Delete("Gone"));

        await RestartAsync();

        Assert.Empty(await Catalog.List());
        Assert.Equal(10059, (await Stream("Gone").Grain.GetInfo(false, null)).Error?.ErrCode);
    }

    [Fact]
    public async Task Msg_ids_within_the_duplicate_window_are_still_duplicates_after_a_restart()
    {
        var stream = await CreateAsync(new PlatformStreamConfig { Name = "Dedup", Subjects = ["Dedup.>"] });
        Assert.Equal(1ul, (await stream.Publish("a", "x", ("Nats-Msg-Id", "id-1"))).Sequence);
        Assert.Equal(2ul, (await stream.Publish("a", "x", ("Nats-Msg-Id", "id-2"))).Sequence);

        await RestartAsync();
        stream = Stream("Dedup");

        var retried = await stream.Publish("a", "x", ("Nats-Msg-Id", "id-1"));
        var expectingLast = await stream.Publish("a", "x", ("Nats-Expected-Last-Msg-Id", "id-2"), ("Nats-Msg-Id", "id-3"));

        Assert.Equal((1ul, true), (retried.Sequence, retried.Duplicate));
        Assert.Equal(3ul, expectingLast.Sequence);
        Assert.Null(expectingLast.Error);
    }

    [Fact]
    public async Task Msg_ids_older_than_the_duplicate_window_are_not_restored()
    {
        var stream = await CreateAsync(new PlatformStreamConfig { Name = "Window", Subjects = ["Window.>"], DuplicateWindow = 4_000_000_000 });
        var batch = new FrameBatch();
        for (int i = 1; i <= 300; i++)
            batch.Add("Window.a", "x", ("Nats-Msg-Id", $"old-{i}"));
        await batch.AppendTo(stream.Grain);
        await Task.Delay(4200);
        batch = new FrameBatch();
        for (int i = 1; i <= 300; i++)
            batch.Add("Window.a", "x", ("Nats-Msg-Id", $"new-{i}"));
        await batch.AppendTo(stream.Grain);
        Assert.True((await stream.Grain.DeleteMessage(301, false)).Value);

        await RestartAsync();
        stream = Stream("Window");

        var acks = await new FrameBatch()
            .Add("Window.a", "x", ("Nats-Msg-Id", "new-2"))
            .Add("Window.a", "x", ("Nats-Msg-Id", "new-300"))
            .Add("Window.a", "x", ("Nats-Msg-Id", "old-300"))
            .AppendTo(stream.Grain);

        Assert.Equal([(302ul, true), (600ul, true), (601ul, false)], acks.Select(a => (a.Sequence, a.Duplicate)));
    }

    [Fact]
    public async Task A_deactivated_stream_grain_reopens_its_log_on_the_next_call()
    {
        var stream = await CreateAsync(new PlatformStreamConfig { Name = "Reopen", Subjects = ["Reopen.>"] });
        await stream.Publish("a", "one", ("Nats-Msg-Id", "id-1"));
        await stream.Publish("b", "two");
        var before = await stream.Info();

        await _cluster!.DeactivateAsync(stream.Grain);

        var after = await stream.Info();
        Assert.Equal(before.State, after.State);
        Assert.Equal(before.Created, after.Created);
        Assert.True((await stream.Publish("a", "one", ("Nats-Msg-Id", "id-1"))).Duplicate);
        Assert.Equal(3ul, (await stream.Publish("a", "three")).Sequence);
    }
}
