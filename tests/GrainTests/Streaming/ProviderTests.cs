using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Streams;
using Orleans.TestingHost;
using Platform.Grains.Client;
using Platform.Grains.Streaming;
using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests.Streaming;

/// <summary>
/// Each provider test deploys its own cluster; they run apart from the other test classes so their startup load does
/// not disturb timing-sensitive tests elsewhere (e.g. a 300 ms max age).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProviderCollection
{
    public const string Name = "Orleans stream provider";
}

/// <summary>The Orleans stream provider over platform streams, in an in-process cluster with a real store.</summary>
[Collection(ProviderCollection.Name)]
public sealed class ProviderTests : IAsyncLifetime
{
    private static readonly string[] Namespaces = ["order", "rewind", "many", "impl", "fromnats", "tonats", "failing"];
    private readonly TempDirectory _store = new();
    private InProcessTestCluster _cluster = null!;

    /// <param name="maxDeliveryTime">How long the pulling agent retries a failing delivery before the failure handler.</param>
    /// <param name="logs">Receives the silo's log, to see what the failure handler reports.</param>
    /// <param name="configure">Further provider options, on the silo and the client alike.</param>
    internal static async Task<InProcessTestCluster> StartAsync(string store, TimeSpan? maxDeliveryTime = null, ILoggerProvider? logs = null,
        Action<PlatformStreamOptions>? configure = null)
    {
        void Configure(PlatformStreamOptions o)
        {
            o.Namespaces.AddRange(Namespaces);
            configure?.Invoke(o);
        }

        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = Environment.GetEnvironmentVariable("PROVIDER_TEST_LOGS") is not null;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddPlatformStreaming(o => o.StoreDirectory = store);
            silo.AddMemoryGrainStorage("PubSubStore");
            silo.AddPlatformStreams("platform", Configure,
                s => s.ConfigurePullingAgent(ob => ob.Configure(o =>
                {
                    o.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(20);
                    if (maxDeliveryTime is { } max)
                        o.MaxEventDeliveryTime = max;
                })));
            if (logs is not null)
                silo.Services.AddSingleton(logs);
        });
        builder.ConfigureClient(client => client.AddPlatformStreams("platform", Configure));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    public async Task InitializeAsync() => _cluster = await StartAsync(_store.Path);

    public async Task DisposeAsync()
    {
        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
        _store.Dispose();
    }

    private IAsyncStream<TestEvent> Stream(string ns, string key) =>
        _cluster.Client.GetStreamProvider("platform").GetStream<TestEvent>(StreamId.Create(ns, key));

    [Fact]
    public async Task A_subscriber_receives_events_in_order_with_the_stream_sequence_as_token()
    {
        var grain = _cluster.Client.GetGrain<ISubscriberGrain>("order-1");
        await grain.Subscribe("order", "k1", 0);
        var stream = Stream("order", "k1");
        for (int i = 0; i < 20; i++)
            await stream.OnNextAsync(new TestEvent(i, $"e{i}"));

        var got = await WaitFor(grain, 20);
        Assert.Equal(Enumerable.Range(0, 20), got.Select(r => r.N));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), got.Select(r => r.Sequence));
    }

    [Fact]
    public async Task A_subscription_from_an_early_token_replays_from_the_log_after_later_events_were_delivered()
    {
        var grain = _cluster.Client.GetGrain<ISubscriberGrain>("rewind-1");
        await grain.Subscribe("rewind", "k", 0);
        var stream = Stream("rewind", "k");
        await stream.OnNextBatchAsync(Enumerable.Range(0, 10).Select(i => new TestEvent(i, "")).ToList());
        await WaitFor(grain, 10);
        // Let the cache purge and checkpoint everything, so a replay cannot come from memory.
        await Until(() => File.Exists(Checkpoint("rewind")) && File.ReadAllText(Checkpoint("rewind")) == "10", "checkpoint 10");

        await grain.SubscribeAgain(3);
        var got = await WaitFor(grain, 18);
        Assert.Equal(Enumerable.Range(0, 10).Concat(Enumerable.Range(2, 8)), got.Select(r => r.N));
        Assert.Equal(Enumerable.Range(1, 10).Concat(Enumerable.Range(3, 8)).Select(i => (long)i), got.Select(r => r.Sequence));
    }

    [Fact]
    public async Task Resuming_a_subscription_at_an_early_token_rewinds_it_at_the_next_event()
    {
        var grain = _cluster.Client.GetGrain<ISubscriberGrain>("rewind-2");
        await grain.Subscribe("rewind", "k2", 0);
        var stream = Stream("rewind", "k2");
        await stream.OnNextBatchAsync(Enumerable.Range(0, 6).Select(i => new TestEvent(i, "")).ToList());
        var first = await WaitFor(grain, 6);
        long start = first[0].Sequence;

        // Orleans tells the agent of a resume token in the delivery handshake, so the rewind shows with the next event.
        await grain.Rewind(start + 1);
        await stream.OnNextAsync(new TestEvent(6, ""));
        var got = await WaitFor(grain, 12);
        Assert.Equal(Enumerable.Range(0, 6).Concat(Enumerable.Range(1, 6)), got.Select(r => r.N));
    }

    [Fact]
    public async Task Many_streams_at_once_each_get_their_own_events_in_order()
    {
        const int streams = 25, perStream = 12;
        var grains = Enumerable.Range(0, streams).Select(i => _cluster.Client.GetGrain<ISubscriberGrain>($"many-{i}")).ToArray();
        await Task.WhenAll(grains.Select((g, i) => g.Subscribe("many", $"s{i}", 0)));
        for (int n = 0; n < perStream; n++)
            await Task.WhenAll(Enumerable.Range(0, streams).Select(i => Stream("many", $"s{i}").OnNextAsync(new TestEvent(n, $"s{i}"))));

        for (int i = 0; i < streams; i++)
        {
            var got = await WaitFor(grains[i], perStream);
            Assert.Equal(Enumerable.Range(0, perStream), got.Select(r => r.N));
            Assert.True(got.Select(r => r.Sequence).SequenceEqual(got.Select(r => r.Sequence).Order()), "tokens ascend");
        }
    }

    [Fact]
    public async Task Messages_published_as_plain_json_by_another_client_reach_a_subscriber_and_events_are_readable_as_json()
    {
        var streams = new PlatformStreams(_cluster.Client);
        var grain = _cluster.Client.GetGrain<ISubscriberGrain>("fromnats-1");
        await grain.Subscribe("fromnats", "device.7", 0);
        // What a NATS client would do: create the stream (the provider may have created it already: same config, no
        // error) and publish JSON without an Orleans-Type header on <namespace>.<key>.
        await streams.CreateStreamAsync(new PlatformStreamConfig { Name = "fromnats", Subjects = ["fromnats.>"] });
        var acks = await streams.PublishAsync("fromnats", [.. Enumerable.Range(0, 5).Select(i =>
            new OutgoingMessage("fromnats.device.7", Encoding.UTF8.GetBytes($$"""{"N":{{i}},"Text":"n{{i}}"}""")))]);
        Assert.All(acks, a => Assert.Null(a.Error));
        var got = await WaitFor(grain, 5);
        Assert.Equal(Enumerable.Range(0, 5), got.Select(r => r.N));

        await Stream("tonats", "k").OnNextAsync(new TestEvent(42, "hello"));
        var message = await FirstAsync(streams.ConsumeAsync("tonats", "reader"));
        Assert.Equal("tonats.k", message.Subject);
        Assert.Equal("""{"N":42,"Text":"hello"}""", Encoding.UTF8.GetString(message.Payload.Span));
        Assert.Equal("Platform.GrainTests.Streaming.TestEvent, Platform.GrainTests", message.Headers[EventCodec.TypeHeader]);
    }

    [Fact]
    public async Task A_key_that_makes_no_valid_subject_is_refused_with_the_reason_and_nothing_is_stored()
    {
        foreach (var key in new[] { "a b", "a..b", "*", ">", "a.", "" })
        {
            var error = await Assert.ThrowsAsync<ArgumentException>(() => Stream("order", key).OnNextAsync(new TestEvent(0, "")));
            Assert.Contains($"Orleans stream key \"{key}\"", error.Message);
            Assert.Contains("is not a valid subject", error.Message);
        }
        await Stream("order", "valid.key").OnNextAsync(new TestEvent(1, ""));
        // The cluster is this test's own: the first message of the stream is the valid one.
        var stored = await FirstAsync(new PlatformStreams(_cluster.Client).ConsumeAsync("order", "key-check"));
        Assert.Equal(("order.valid.key", 1ul), (stored.Subject, stored.StreamSequence));
    }

    [Fact]
    public async Task Subscribing_with_a_key_that_makes_no_valid_subject_is_refused_with_the_reason_on_clients_and_silos()
    {
        var keys = new[] { "a b", "a..b", "*", ">", "a.", "" };
        for (int i = 0; i < keys.Length; i++)
        {
            var key = keys[i];
            var error = await Assert.ThrowsAsync<ArgumentException>(() => Stream("order", key).SubscribeAsync((_, _) => Task.CompletedTask));
            Assert.Contains($"Orleans stream key \"{key}\"", error.Message);
            Assert.Contains("is not a valid subject", error.Message);
            // A grain subscribes on the silo, through the silo's side of the provider.
            var subscriber = _cluster.Client.GetGrain<ISubscriberGrain>($"invalid-key-{i}");
            error = await Assert.ThrowsAsync<ArgumentException>(() => subscriber.Subscribe("order", key, 0));
            Assert.Contains($"Orleans stream key \"{key}\"", error.Message);
            Assert.Equal(0, await subscriber.CountSubscriptions("order", key));
        }
        // A valid key (a '.' in it is fine) subscribes and receives.
        var valid = _cluster.Client.GetGrain<ISubscriberGrain>("valid-key");
        await valid.Subscribe("order", "valid.sub", 0);
        await Stream("order", "valid.sub").OnNextAsync(new TestEvent(7, ""));
        await Until(async () => (await valid.GetReceived()).Length == 1, () => "delivery to the valid subscription");
    }

    [Fact]
    public async Task The_cluster_tells_which_namespaces_a_provider_serves_and_producing_to_another_is_refused()
    {
        var description = await _cluster.Client.GetGrain<IStreamProviderInfoGrain>("platform").Describe();
        Assert.Equal(Namespaces, description!.Namespaces);
        Assert.Equal(1, description.QueuesPerNamespace);
        Assert.Null(await _cluster.Client.GetGrain<IStreamProviderInfoGrain>("other").Describe());
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Stream("unserved", "k").OnNextAsync(new TestEvent(0, "")));
        Assert.Contains("\"unserved\" is not served", error.Message);
        Assert.Equal(10059, (await Assert.ThrowsAsync<PlatformStreamException>(() => new PlatformStreams(_cluster.Client).GetStreamInfoAsync("unserved"))).Error.ErrCode);
    }

    [Fact]
    public async Task Delivery_resumes_from_the_checkpoint_after_a_silo_restart()
    {
        var key = $"r{Guid.NewGuid():N}";
        var log = ImplicitGrain.Log.GetOrAdd(key, _ => new());
        var checkpoint = Path.Combine(_store.Path, "orleans-streams", "platform", "impl.checkpoint");
        for (int i = 0; i < 5; i++)
            await Stream("impl", key).OnNextAsync(new TestEvent(i, ""));
        await Until(() => log.Count >= 5 && File.Exists(checkpoint) && File.ReadAllText(checkpoint) == "5", "first delivery and checkpoint");
        Assert.Equal(Enumerable.Range(1, 5).Select(i => (long)i), log.Select(r => r.Sequence));

        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
        log.Clear();
        _cluster = await StartAsync(_store.Path);

        for (int i = 5; i < 8; i++)
            await Stream("impl", key).OnNextAsync(new TestEvent(i, ""));
        await Until(() => log.Count >= 3, "delivery after restart");
        await Task.Delay(300);
        // Only what came after the checkpoint: the first five are not delivered again.
        Assert.Equal([(6L, 5), (7L, 6), (8L, 7)], log.Select(r => (r.Sequence, r.N)));
    }

    private string Checkpoint(string ns) => Path.Combine(_store.Path, "orleans-streams", "platform", ns + ".checkpoint");

    private static async Task<Received[]> WaitFor(ISubscriberGrain grain, int count)
    {
        Received[] got = [];
        await Until(async () => (got = await grain.GetReceived()).Length >= count, () => $"{count} events, got {string.Join(' ', got)}");
        await Task.Delay(100);
        return await grain.GetReceived();
    }

    private static Task Until(Func<bool> condition, string what) => Until(() => Task.FromResult(condition()), () => what);

    private static async Task Until(Func<Task<bool>> condition, Func<string> what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"waited 20 s for {what()}");
            await Task.Delay(20);
        }
    }

    internal static async Task<ConsumedMessage> FirstAsync(IAsyncEnumerable<ConsumedMessage> source)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var m in source.WithCancellation(timeout.Token))
            return m;
        throw new TimeoutException("no message");
    }
}
