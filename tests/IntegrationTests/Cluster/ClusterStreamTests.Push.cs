using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Cluster;

public sealed partial class ClusterStreamTests
{
    /// <summary>
    /// A push consumer made through one silo, its subscriber on another and its stream at home on the third: after the
    /// home restarts (while nobody listens) and after the silo it was made through dies, exactly one delivery loop runs
    /// (first deliveries in stream order, idle heartbeats at their interval, not twice as many) and delivery goes on.
    /// </summary>
    [SkippableFact]
    public async Task Push_consumers_deliver_from_one_loop_after_restarts()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        const string cluster = "pushes";
        await using var nodes = await Nodes.StartAsync(Postgres, cluster);
        var (silos, clients, js) = (nodes.Silos, nodes.Clients, nodes.Js);
        var created = await js[0].CreateStreamAsync(new StreamConfig("PUSH", ["push.>"]));
        int home = created.Info.Cluster!.Leader![0] - 'a', creator = (home + 1) % 3, listener = (home + 2) % 3;
        await js[creator].CreateOrUpdateConsumerAsync("PUSH", new ConsumerConfig("push")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            DeliverSubject = "deliver.push",
            IdleHeartbeat = TimeSpan.FromMilliseconds(500),
        });
        var deliveries = new PushLog();

        // Phase 1: delivered and acked through the listener's silo.
        var subscription = await deliveries.SubscribeAsync(clients[listener]);
        await PublishAsync(js[listener], 1, 10);
        await deliveries.WaitForAsync(10);
        await WaitForAckFloorAsync(js[listener], 10);

        // Phase 2: the home restarts while nobody listens; the consumer comes back with it.
        await subscription.DisposeAsync();
        await Task.Delay(500);
        var survivors = silos.Where((_, i) => i != home).ToList();
        silos[home].Kill();
        foreach (var survivor in survivors)
            await ProcessCluster.WaitUntilAsync(async () => await ConnectUrlCountAsync(survivor) == 2, TimeSpan.FromSeconds(30),
                async () => $"{NodeOf(silos, survivor)} still advertises {await ConnectUrlCountAsync(survivor)} silos");
        silos[home] = await ProcessCluster.StartNodeAsync(Postgres, cluster, NodeOf(silos, silos[home]), silos[home].DataDirectory);
        await ProcessCluster.WaitForActiveAsync(Postgres, cluster, ["a", "b", "c"], TimeSpan.FromSeconds(60));
        subscription = await deliveries.SubscribeAsync(clients[listener]);
        await PublishAsync(js[listener], 11, 20);
        await deliveries.WaitForAsync(20);
        await WaitForAckFloorAsync(js[listener], 20);
        int heartbeats = await deliveries.HeartbeatsDuringAsync(TimeSpan.FromSeconds(3));
        output.WriteLine($"{heartbeats} idle heartbeats in 3 s after the home restarted");
        Assert.InRange(heartbeats, 2, 8);

        // Phase 3: the silo the consumer was made through dies; delivery goes on from the home.
        var creatorSilo = silos[creator];
        creatorSilo.Kill();
        foreach (var survivor in silos.Where(s => s != creatorSilo))
            await ProcessCluster.WaitUntilAsync(async () => await ConnectUrlCountAsync(survivor) == 2, TimeSpan.FromSeconds(30),
                async () => $"{NodeOf(silos, survivor)} still advertises {await ConnectUrlCountAsync(survivor)} silos");
        await PublishAsync(js[listener], 21, 30);
        await deliveries.WaitForAsync(30);
        await subscription.DisposeAsync();
        deliveries.AssertOnceInOrder(30);
    }

    /// <summary>
    /// Flow control across silos: the subscriber answers each flow control request on its own silo, and the answer
    /// reaches the delivery loop at the stream's home, so delivery goes past the first window.
    /// </summary>
    [SkippableFact]
    public async Task Push_flow_control_replies_reach_the_loop_from_any_silo()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        const string cluster = "flows";
        await using var nodes = await Nodes.StartAsync(Postgres, cluster);
        var (clients, js) = (nodes.Clients, nodes.Js);
        var created = await js[0].CreateStreamAsync(new StreamConfig("FLOW", ["flow.>"]));
        int listener = (created.Info.Cluster!.Leader![0] - 'a' + 1) % 3;
        await using var sub = await clients[listener].SubscribeCoreAsync<byte[]>("deliver.flow");
        await js[listener].CreateOrUpdateConsumerAsync("FLOW", new ConsumerConfig("flow")
        {
            DeliverSubject = "deliver.flow",
            AckPolicy = ConsumerConfigAckPolicy.None,
            FlowControl = true,
            IdleHeartbeat = TimeSpan.FromSeconds(1),
        });
        // 1000 messages of 1 KiB: about four flow control windows of 256 KiB.
        var payload = new byte[1024];
        for (int i = 0; i < 1000; i++)
            Assert.Null((await js[i % 3].PublishAsync("flow.m", payload)).Error);
        int received = 0, requests = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (received < 1000)
        {
            var msg = await sub.Msgs.ReadAsync(timeout.Token);
            if (msg.Headers is { Code: 100 })
            {
                if (msg.ReplyTo is { Length: > 0 } reply)
                {
                    requests++;
                    await clients[listener].PublishAsync(reply, Array.Empty<byte>());
                }
                continue;
            }
            received++;
        }
        Assert.InRange(requests, 3, 5);
    }

    private static async Task PublishAsync(NatsJSContext js, int from, int to)
    {
        for (int i = from; i <= to; i++)
        {
            for (int attempt = 0; ; attempt++)
            {
                var ack = await js.PublishAsync("push.m", $"m{i}");
                if (ack.Error is null)
                {
                    Assert.Equal((ulong)i, ack.Seq);
                    break;
                }
                // Right after the home rejoins, a silo may see it as suspect for a moment.
                Assert.True(ack.Error.ErrCode == StreamOffline && attempt < 50, $"publish {i}: {ack.Error.Description}");
                await Task.Delay(200);
            }
        }
    }

    private static Task WaitForAckFloorAsync(NatsJSContext js, ulong floor)
        => ProcessCluster.WaitUntilAsync(async () => (await RetryAsync(() => js.GetConsumerAsync("PUSH", "push").AsTask())).Info.AckFloor.StreamSeq == floor,
            TimeSpan.FromSeconds(20), async () => $"ack floor {(await js.GetConsumerAsync("PUSH", "push")).Info.AckFloor.StreamSeq}, expected {floor}");

    /// <summary>What the subscriber of a push consumer saw: each message's stream sequence and delivery count, and heartbeats.</summary>
    private sealed class PushLog
    {
        private readonly List<(ulong Seq, int Deliveries)> _messages = [];
        private int _heartbeats;

        public async Task<IAsyncDisposable> SubscribeAsync(NatsConnection client)
        {
            var sub = await client.SubscribeCoreAsync<string>("deliver.push");
            await client.PingAsync();
            _ = Task.Run(async () =>
            {
                await foreach (var msg in sub.Msgs.ReadAllAsync())
                {
                    if (msg.Headers is { Code: 100 })
                    {
                        Interlocked.Increment(ref _heartbeats);
                        continue;
                    }
                    // $JS.ACK.<stream>.<consumer>.<deliveries>.<stream seq>.<consumer seq>.<time>.<pending>
                    var tokens = msg.ReplyTo!.Split('.');
                    lock (_messages)
                        _messages.Add((ulong.Parse(tokens[5]), int.Parse(tokens[4])));
                    await client.PublishAsync(msg.ReplyTo!, "+ACK");
                }
            });
            return sub;
        }

        public Task WaitForAsync(int count)
            => ProcessCluster.WaitUntilAsync(() => Task.FromResult(Seen().Count >= count), TimeSpan.FromSeconds(30),
                () => Task.FromResult($"delivered {string.Join(",", Seen().Order())}, expected 1..{count}"));

        public async Task<int> HeartbeatsDuringAsync(TimeSpan period)
        {
            int before = Volatile.Read(ref _heartbeats);
            await Task.Delay(period);
            return Volatile.Read(ref _heartbeats) - before;
        }

        /// <summary>Every sequence delivered; a second delivery only as a redelivery; first deliveries in stream order.</summary>
        public void AssertOnceInOrder(int count)
        {
            List<(ulong Seq, int Deliveries)> all;
            lock (_messages)
                all = [.. _messages];
            var first = all.Where(m => m.Deliveries == 1).Select(m => m.Seq).ToList();
            Assert.Equal(first.Distinct(), first);
            Assert.Equal(first.Order(), first);
            Assert.Equal(Enumerable.Range(1, count).Select(i => (ulong)i), Seen().Order());
        }

        private HashSet<ulong> Seen()
        {
            lock (_messages)
                return [.. _messages.Select(m => m.Seq)];
        }
    }
}
