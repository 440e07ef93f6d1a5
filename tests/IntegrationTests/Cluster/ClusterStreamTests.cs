using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Platform.Grains.Storage;
using Platform.IntegrationTests.Infrastructure;
using Platform.IntegrationTests.Monitoring;
using Xunit.Abstractions;

namespace Platform.IntegrationTests.Cluster;

/// <summary>
/// Streams in a cluster of three silo processes on a real PostgreSQL: each lives on its home node only, publishes
/// through any silo are acked by the home, and while the home is killed (or back with a wiped store) the stream is
/// offline (nats-server's 10118) rather than re-created empty anywhere else.
/// </summary>
public sealed partial class ClusterStreamTests(PostgresFixture fixture, ITestOutputHelper output) : IClassFixture<PostgresFixture>
{
    private const int StreamOffline = 10118;
    private PostgresProcess Postgres => fixture.Postgres!;

    [SkippableFact]
    public async Task Streams_live_at_home_and_are_offline_never_empty_while_their_home_is_away()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        const string cluster = "homes";
        await using var nodes = await Nodes.StartAsync(Postgres, cluster);
        var (silos, _, js) = (nodes.Silos, nodes.Clients, nodes.Js);

        // Three streams created through one silo: the catalog puts one on each node.
        var homes = new Dictionary<string, string>();
        for (int i = 0; i < 3; i++)
        {
            var created = await js[0].CreateStreamAsync(new StreamConfig($"H{i}", [$"h{i}.>"]));
            homes[$"H{i}"] = created.Info.Cluster!.Leader!;
            Assert.Equal(cluster, created.Info.Cluster.Name);
        }
        Assert.Equal(["a", "b", "c"], homes.Values.Order(StringComparer.Ordinal));
        foreach (var (stream, home) in homes)
            foreach (var silo in silos)
                Assert.Equal(NodeOf(silos, silo) == home, Directory.Exists(StreamDirectory(silo, stream)));
        // /jsz: each silo reports the stream it holds, and the one meta group (the catalog) with its leader.
        var leaders = new HashSet<string>();
        foreach (var silo in silos)
        {
            var jsz = await MonitorHttp.GetJsonAsync(silo.HttpPort, "/jsz");
            Assert.Equal(1, jsz.GetProperty("streams").GetInt32());
            var meta = jsz.GetProperty("meta_cluster");
            Assert.Equal(cluster, meta.GetProperty("name").GetString());
            Assert.Equal(3, meta.GetProperty("cluster_size").GetInt32());
            leaders.Add(meta.GetProperty("leader").GetString()!);
        }
        Assert.Single(leaders);
        Assert.Contains(leaders.Single(), new[] { "a", "b", "c" });

        // Publishes through every silo are acked by the home, in order.
        foreach (var stream in homes.Keys)
        {
            for (int i = 0; i < 9; i++)
            {
                var ack = await js[i % 3].PublishAsync($"{stream.ToLowerInvariant()}.m", $"m{i}");
                Assert.Null(ack.Error);
                Assert.Equal((ulong)i + 1, ack.Seq);
            }
        }

        // Kill -9 the home of a stream that a is not home to.
        var away = homes.First(h => h.Value != "a").Key;
        var victim = silos.Single(s => NodeOf(silos, s) == homes[away]);
        var survivors = silos.Where(s => s != victim).ToList();
        var survivorJs = js[silos.IndexOf(survivors[0])];
        victim.Kill();
        await ProcessCluster.WaitForActiveAsync(Postgres, cluster, survivors.Select(s => NodeOf(silos, s)).Order(StringComparer.Ordinal).ToArray(),
            TimeSpan.FromSeconds(60));
        // The table says so first; each survivor acts on it once its own membership view has dropped the victim.
        foreach (var survivor in survivors)
            await ProcessCluster.WaitUntilAsync(async () => await ConnectUrlCountAsync(survivor) == 2, TimeSpan.FromSeconds(30),
                async () => $"{NodeOf(silos, survivor)} still advertises {await ConnectUrlCountAsync(survivor)} silos");

        var offlineAck = await survivorJs.PublishAsync($"{away.ToLowerInvariant()}.m", "lost");
        Assert.Equal(StreamOffline, offlineAck.Error?.ErrCode);
        var info = await Assert.ThrowsAsync<NatsJSApiException>(() => survivorJs.GetStreamAsync(away).AsTask());
        Assert.Equal(StreamOffline, info.Error.ErrCode);
        var recreate = await Assert.ThrowsAsync<NatsJSApiException>(() => survivorJs.CreateStreamAsync(new StreamConfig(away, [$"{away.ToLowerInvariant()}.>"])).AsTask());
        Assert.Equal(StreamOffline, recreate.Error.ErrCode);
        foreach (var silo in survivors)
            Assert.False(Directory.Exists(StreamDirectory(silo, away)), $"{away} appeared on {NodeOf(silos, silo)}");
        foreach (var stream in homes.Keys.Where(s => homes[s] != homes[away]))
            Assert.Null((await survivorJs.PublishAsync($"{stream.ToLowerInvariant()}.m", "still served")).Error);
        output.WriteLine($"{away} offline while {homes[away]} is down; the others serve on");

        // Back with its store: every acked message, and the sequence goes on.
        var restarted = await ProcessCluster.StartNodeAsync(Postgres, cluster, homes[away], victim.DataDirectory);
        silos[silos.IndexOf(victim)] = restarted;
        await ProcessCluster.WaitForActiveAsync(Postgres, cluster, ["a", "b", "c"], TimeSpan.FromSeconds(60));
        var back = await RetryAsync(() => survivorJs.GetStreamAsync(away).AsTask());
        Assert.Equal(9L, back.Info.State.Messages);
        Assert.Equal(10UL, (await survivorJs.PublishAsync($"{away.ToLowerInvariant()}.m", "after")).Seq);

        // Back with a wiped store: offline ("data missing"), never empty.
        restarted.Kill();
        Directory.Delete(restarted.DataDirectory, recursive: true);
        var wiped = await ProcessCluster.StartNodeAsync(Postgres, cluster, homes[away], restarted.DataDirectory);
        silos[silos.IndexOf(restarted)] = wiped;
        await ProcessCluster.WaitForActiveAsync(Postgres, cluster, ["a", "b", "c"], TimeSpan.FromSeconds(60));
        var missing = await Assert.ThrowsAsync<NatsJSApiException>(() => survivorJs.GetStreamAsync(away).AsTask());
        Assert.Equal(StreamOffline, missing.Error.ErrCode);
        Assert.Equal(StreamOffline, (await survivorJs.PublishAsync($"{away.ToLowerInvariant()}.m", "lost")).Error?.ErrCode);
        Assert.False(Directory.Exists(StreamDirectory(wiped, away)));
    }

    [SkippableFact]
    public async Task Pull_and_push_consumers_serve_clients_on_any_silo()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        const string cluster = "consumers";
        await using var nodes = await Nodes.StartAsync(Postgres, cluster);
        var (silos, clients, js) = (nodes.Silos, nodes.Clients, nodes.Js);
        await js[0].CreateStreamAsync(new StreamConfig("WORK", ["work.>"]));
        for (int i = 0; i < 50; i++)
            Assert.Null((await js[i % 3].PublishAsync("work.item", $"w{i}")).Error);

        // A pull consumer made through one silo, fetched and acked through another.
        var pull = await js[1].CreateOrUpdateConsumerAsync("WORK", new ConsumerConfig("pull") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        var remote = await js[2].GetConsumerAsync("WORK", "pull");
        var pulled = new List<string>();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (pulled.Count < 50)
            {
                await foreach (var msg in remote.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 10, Expires = TimeSpan.FromSeconds(5) }, cancellationToken: timeout.Token))
                {
                    pulled.Add(msg.Data!);
                    await msg.AckAsync(new AckOpts { DoubleAck = true }, timeout.Token);
                }
            }
        }
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"w{i}"), pulled);
        Assert.Equal(50ul, (await js[0].GetConsumerAsync("WORK", "pull")).Info.AckFloor.StreamSeq);

        // A push consumer made through one silo, its subscriber and acks on another.
        await using var push = await clients[2].SubscribeCoreAsync<string>("deliver.work");
        await js[1].CreateOrUpdateConsumerAsync("WORK", new ConsumerConfig("push")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            DeliverSubject = "deliver.work",
        });
        var pushed = new List<string>();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (pushed.Count < 50)
            {
                var msg = await push.Msgs.ReadAsync(timeout.Token);
                pushed.Add(msg.Data!);
                await clients[2].PublishAsync(msg.ReplyTo!, "+ACK", cancellationToken: timeout.Token);
            }
        }
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"w{i}"), pushed);
        await ProcessCluster.WaitUntilAsync(async () => (await js[0].GetConsumerAsync("WORK", "push")).Info.AckFloor.StreamSeq == 50,
            TimeSpan.FromSeconds(10), async () => $"push ack floor {(await js[0].GetConsumerAsync("WORK", "push")).Info.AckFloor.StreamSeq}");
    }

    /// <summary>Silos a, b and c of one cluster, Active, with a NATS client on each; disposing stops them all.</summary>
    private sealed class Nodes : IAsyncDisposable
    {
        public List<SiloProcess> Silos { get; } = [];
        public List<NatsConnection> Clients { get; } = [];
        public NatsJSContext[] Js { get; private set; } = [];

        public static async Task<Nodes> StartAsync(PostgresProcess postgres, string cluster)
        {
            var nodes = new Nodes();
            try
            {
                nodes.Silos.AddRange(await Task.WhenAll(
                    ProcessCluster.StartNodeAsync(postgres, cluster, "a"),
                    ProcessCluster.StartNodeAsync(postgres, cluster, "b"),
                    ProcessCluster.StartNodeAsync(postgres, cluster, "c")));
                await ProcessCluster.WaitForActiveAsync(postgres, cluster, ["a", "b", "c"], TimeSpan.FromSeconds(60));
                foreach (var silo in nodes.Silos)
                {
                    var nats = new NatsConnection(new NatsOpts { Url = silo.Url, RequestTimeout = TimeSpan.FromSeconds(10) });
                    nodes.Clients.Add(nats);
                    await nats.ConnectAsync();
                }
                nodes.Js = [.. nodes.Clients.Select(c => new NatsJSContext(c))];
                return nodes;
            }
            catch
            {
                await nodes.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var client in Clients)
                await client.DisposeAsync();
            await ProcessCluster.DisposeAllAsync(Silos);
        }
    }

    private static async Task<int> ConnectUrlCountAsync(SiloProcess silo)
    {
        var (info, _) = await RawClient.ExchangeAsync(silo.Port, "PING\r\n");
        using var json = System.Text.Json.JsonDocument.Parse(info["INFO ".Length..]);
        return json.RootElement.TryGetProperty("connect_urls", out var urls) ? urls.GetArrayLength() : 0;
    }

    /// <summary>The node name a silo was started with (its -n argument).</summary>
    private static string NodeOf(List<SiloProcess> silos, SiloProcess silo) => ((char)('a' + silos.IndexOf(silo))).ToString();

    private static string StreamDirectory(SiloProcess silo, string stream)
        => StorePaths.Child(Path.Combine(silo.DataDirectory, "jetstream", "streams"), stream);

    /// <summary>Right after a node rejoins, the other silos may still see it as suspect for a moment.</summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (NatsJSApiException ex) when (ex.Error.ErrCode == StreamOffline && attempt < 50)
            {
                await Task.Delay(200);
            }
        }
    }
}
