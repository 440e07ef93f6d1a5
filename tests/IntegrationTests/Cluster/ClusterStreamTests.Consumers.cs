using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Cluster;

public sealed partial class ClusterStreamTests
{
    /// <summary>
    /// Issue #17's replicated consumers: a durable pull consumer of an R3 stream consumes and acknowledges (AckSync)
    /// part of the stream, the primary's silo is killed with SIGKILL, and consuming goes on through another silo once a
    /// replica is promoted: every message is delivered, the ones delivered and never acknowledged again, and none whose
    /// ack the silo confirmed.
    /// </summary>
    [SkippableFact]
    public async Task A_durable_pull_consumer_of_an_R3_stream_goes_on_after_its_primary_is_killed_without_redelivering_acked_messages()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        await using var nodes = await Nodes.StartAsync(Postgres, "r3pull");
        var (silos, js) = (nodes.Silos, nodes.Js);
        var (primary, survivor) = await CreateR3WithMessagesAsync(js, "RCON");
        await js[survivor].CreateOrUpdateConsumerAsync("RCON", new ConsumerConfig("worker")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            AckWait = TimeSpan.FromSeconds(2),
        });

        // 40 delivered, 1-30 acknowledged with a confirmation, 31-40 left unacknowledged.
        var acked = new HashSet<ulong>();
        var delivered = new List<ulong>();
        var consumer = await js[survivor].GetConsumerAsync("RCON", "worker");
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (delivered.Count < 40)
            {
                await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 40 - delivered.Count, Expires = TimeSpan.FromSeconds(5) },
                                   cancellationToken: timeout.Token))
                {
                    var seq = msg.Metadata!.Value.Sequence.Stream;
                    delivered.Add(seq);
                    if (seq > 30)
                        continue;
                    await msg.AckAsync(new AckOpts { DoubleAck = true }, timeout.Token);
                    acked.Add(seq);
                }
            }
        }
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (ulong)i), delivered);

        silos[primary].Kill();

        Assert.Empty(await AckAllAsync(js[survivor], "RCON", "worker", acked, 100));
        var info = (await js[survivor].GetConsumerAsync("RCON", "worker")).Info;
        Assert.Equal((100UL, 0), (info.AckFloor.StreamSeq, info.NumAckPending));
        Assert.NotEqual(NodeOf(silos, silos[primary]), (await js[survivor].GetStreamAsync("RCON")).Info.Cluster!.Leader);
    }

    /// <summary>
    /// The same with a push consumer (max_ack_pending 40): its subscriber, on another silo, confirms the acks of 1-30
    /// (AckSync) and leaves the rest unacknowledged until the primary's silo is killed; then the delivery loop starts
    /// on the promoted replica and every message comes, none whose ack was confirmed again.
    /// </summary>
    [SkippableFact]
    public async Task A_durable_push_consumer_of_an_R3_stream_delivers_from_the_promoted_replica_without_redelivering_acked_messages()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        await using var nodes = await Nodes.StartAsync(Postgres, "r3push");
        var (silos, clients, js) = (nodes.Silos, nodes.Clients, nodes.Js);
        var (primary, survivor) = await CreateR3WithMessagesAsync(js, "RPUSH");
        var client = clients[survivor];
        await using var sub = await client.SubscribeCoreAsync<string>("deliver.rpush");
        await client.PingAsync();
        await js[survivor].CreateOrUpdateConsumerAsync("RPUSH", new ConsumerConfig("pusher")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            AckWait = TimeSpan.FromSeconds(2),
            MaxAckPending = 40,
            DeliverSubject = "deliver.rpush",
        });

        var acked = new HashSet<ulong>();
        var delivered = new HashSet<ulong>();
        var redelivered = new List<ulong>();
        bool ackAll = false;
        using var stop = new CancellationTokenSource();
        var subscriber = Task.Run(async () =>
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync(stop.Token))
            {
                if (msg.ReplyTo is not { } reply || !reply.StartsWith("$JS.ACK.", StringComparison.Ordinal))
                    continue;
                // $JS.ACK.<stream>.<consumer>.<deliveries>.<stream seq>.<consumer seq>.<time>.<pending>
                var seq = ulong.Parse(reply.Split('.')[5]);
                lock (acked)
                {
                    delivered.Add(seq);
                    if (acked.Contains(seq))
                        redelivered.Add(seq);
                    if (!Volatile.Read(ref ackAll) && seq > 30)
                        continue;
                }
                try
                {
                    await client.RequestAsync<string, string>(reply, "+ACK", replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(5) },
                        cancellationToken: stop.Token);
                    lock (acked)
                        acked.Add(seq);
                }
                catch (Exception ex) when (ex is NatsException or TimeoutException)
                {
                    // Not confirmed: the message may come again.
                }
            }
        });

        // 1-30 acknowledged; 31-70 delivered (the 40 max_ack_pending allows) and left unacknowledged.
        await ProcessCluster.WaitUntilAsync(() => Task.FromResult(Count(acked, delivered) == (30, 70)), TimeSpan.FromSeconds(30),
            () => Task.FromResult($"acked/delivered {Count(acked, delivered)} before the kill, expected (30, 70)"));
        silos[primary].Kill();
        Volatile.Write(ref ackAll, true);

        await ProcessCluster.WaitUntilAsync(() => Task.FromResult(Count(acked, delivered).Acked == 100), TimeSpan.FromSeconds(120),
            () => Task.FromResult($"acked/delivered {Count(acked, delivered)} after the kill; delivered again after a confirmed ack: {string.Join(",", redelivered)}"));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => subscriber);
        lock (acked)
            Assert.Empty(redelivered);

        static (int Acked, int Delivered) Count(HashSet<ulong> acked, HashSet<ulong> delivered)
        {
            lock (acked)
                return (acked.Count, delivered.Count);
        }
    }

    /// <summary>
    /// A pull consumer of an R3 stream is never handed a message its replicas do not hold. Both replicas are stopped
    /// (SIGSTOP), a message is published to the primary, which stores it and cannot replicate it, and the consumer
    /// fetches: nothing, since a failover to a replica without that message would give its sequence to another one,
    /// which a consumer handed it would skip. Then the primary is killed and the replicas run again (they may still
    /// take that message from their sockets): every message the promoted replica's stream holds, each acknowledged
    /// publish after the failover among them, is delivered, in order, with the payload stored at its sequence.
    /// </summary>
    [SkippableFact]
    public async Task A_pull_consumer_of_an_R3_stream_is_never_handed_a_message_a_failover_can_lose()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        await using var nodes = await Nodes.StartAsync(Postgres, "r3reads");
        var (silos, clients, js) = (nodes.Silos, nodes.Clients, nodes.Js);
        var (primary, _) = await CreateR3WithMessagesAsync(js, "RR");
        int[] replicas = [(primary + 1) % 3, (primary + 2) % 3];
        await js[primary].CreateOrUpdateConsumerAsync("RR", new ConsumerConfig("reader") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        var delivered = new List<(ulong Seq, string Payload)>();
        while (delivered.Count < 100)
            await FetchReaderAsync(js[primary], delivered, 100 - delivered.Count, TimeSpan.FromSeconds(5));
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (ulong)i), delivered.Select(d => d.Seq));

        var onPrimaryOnly = new List<(ulong Seq, string Payload)>();
        foreach (var replica in replicas)
            silos[replica].Signal(Posix.SIGSTOP);
        try
        {
            // Stored by the primary, which then waits for replicas that do not answer; never acknowledged.
            await clients[primary].PublishAsync("rr.m", "unreplicated");
            await Task.Delay(500);
            await FetchReaderAsync(js[primary], onPrimaryOnly, 10, TimeSpan.FromSeconds(2));
            silos[primary].Kill();
        }
        finally
        {
            foreach (var replica in replicas)
                silos[replica].Signal(Posix.SIGCONT);
        }
        Assert.Empty(onPrimaryOnly);

        var survivor = replicas[0];
        await ProcessCluster.WaitUntilAsync(async () => await LeaderAsync(js[survivor], "RR") is { } leader && leader != NodeOf(silos, silos[primary]),
            TimeSpan.FromSeconds(90), async () => $"leader still {await LeaderAsync(js[survivor], "RR")}");
        var acked = new SortedDictionary<ulong, string>();
        for (int i = 0; i < 20; i++)
            acked[await PublishRetryingAsync(js[survivor], "rr.m", $"after{i}")] = $"after{i}";
        var stored = await ReadPayloadsAsync(js[survivor], "RR", (int)(await js[survivor].GetStreamAsync("RR")).Info.State.Messages);
        Assert.All(acked, a => Assert.Equal(a.Value, stored[(int)a.Key - 1]));

        await ProcessCluster.WaitUntilAsync(async () =>
            {
                try
                {
                    await FetchReaderAsync(js[survivor], delivered, 20, TimeSpan.FromSeconds(2));
                }
                catch (Exception ex) when (ex is NatsJSException or NatsException or TimeoutException or OperationCanceledException)
                {
                }
                return delivered.Any(d => d.Seq == (ulong)stored.Count);
            }, TimeSpan.FromSeconds(60),
            () => Task.FromResult($"delivered {string.Join(",", delivered.Select(d => d.Seq))} of {stored.Count}"));
        // The first delivery of each sequence comes in order and carries what the stream holds there (1-100 may come
        // again: their acks were not confirmed).
        Assert.All(delivered, d => Assert.Equal(stored[(int)d.Seq - 1], d.Payload));
        var firsts = delivered.Where(d => d.Seq > 100).DistinctBy(d => d.Seq).Select(d => d.Seq);
        Assert.Equal(Enumerable.Range(101, stored.Count - 100).Select(i => (ulong)i), firsts);
    }

    /// <summary>
    /// Consumes through <paramref name="js"/> until all <paramref name="total"/> messages (payload "m" + sequence) are
    /// acknowledged, within 120 s; the sequences delivered again after their ack was confirmed. An ack whose
    /// confirmation did not come (the consumer was moving) does not count, and its message may come again.
    /// </summary>
    private static async Task<List<ulong>> AckAllAsync(NatsJSContext js, string stream, string name, HashSet<ulong> acked, int total)
    {
        var redelivered = new List<ulong>();
        await ProcessCluster.WaitUntilAsync(async () =>
            {
                try
                {
                    var consumer = await js.GetConsumerAsync(stream, name);
                    await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 20, Expires = TimeSpan.FromSeconds(2) }))
                    {
                        var seq = msg.Metadata!.Value.Sequence.Stream;
                        Assert.Equal($"m{seq}", msg.Data);
                        if (acked.Contains(seq))
                            redelivered.Add(seq);
                        await msg.AckAsync(new AckOpts { DoubleAck = true });
                        acked.Add(seq);
                    }
                }
                catch (Exception ex) when (ex is NatsJSException or NatsException or TimeoutException or OperationCanceledException)
                {
                }
                return acked.Count == total;
            }, TimeSpan.FromSeconds(120),
            () => Task.FromResult($"acked {acked.Count} of {total}; delivered again after a confirmed ack: {string.Join(",", redelivered)}"));
        return redelivered;
    }

    /// <summary>Fetches up to <paramref name="max"/> messages of RR's consumer "reader", acknowledging each.</summary>
    private static async Task FetchReaderAsync(NatsJSContext js, List<(ulong Seq, string Payload)> into, int max, TimeSpan expires)
    {
        var consumer = await js.GetConsumerAsync("RR", "reader");
        await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = max, Expires = expires }))
        {
            into.Add((msg.Metadata!.Value.Sequence.Stream, msg.Data!));
            await msg.AckAsync();
        }
    }

    /// <summary>An R3 stream with m1-m100 published through every silo; its primary's index, and another silo's.</summary>
    private static async Task<(int Primary, int Survivor)> CreateR3WithMessagesAsync(NatsJSContext[] js, string stream)
    {
        var subject = stream.ToLowerInvariant();
        // A create that got no answer in time (a loaded machine) is sent again: the same config is the same stream.
        var config = new StreamConfig(stream, [$"{subject}.>"]) { NumReplicas = 3 };
        INatsJSStream? created = null;
        for (int attempt = 0; created is null; attempt++)
        {
            try
            {
                created = await js[0].CreateStreamAsync(config);
            }
            catch (NatsJSApiNoResponseException) when (attempt < 3)
            {
            }
        }
        int primary = created.Info.Cluster!.Leader![0] - 'a';
        for (int i = 1; i <= 100; i++)
            Assert.Null((await js[i % 3].PublishAsync($"{subject}.m", $"m{i}")).Error);
        return (primary, (primary + 1) % 3);
    }
}
