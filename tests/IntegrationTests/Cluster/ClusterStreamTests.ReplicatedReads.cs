using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Cluster;

public sealed partial class ClusterStreamTests
{
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
            await FetchAsync(js[primary], delivered, 100 - delivered.Count, TimeSpan.FromSeconds(5));
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (ulong)i), delivered.Select(d => d.Seq));

        var onPrimaryOnly = new List<(ulong Seq, string Payload)>();
        foreach (var replica in replicas)
            silos[replica].Signal(Posix.SIGSTOP);
        try
        {
            // Stored by the primary, which then waits for replicas that do not answer; never acknowledged.
            await clients[primary].PublishAsync("rr.m", "unreplicated");
            await Task.Delay(500);
            await FetchAsync(js[primary], onPrimaryOnly, 10, TimeSpan.FromSeconds(2));
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
                    await FetchAsync(js[survivor], delivered, 20, TimeSpan.FromSeconds(2));
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

    /// <summary>Fetches up to <paramref name="max"/> messages of RR's consumer "reader", acknowledging each.</summary>
    private static async Task FetchAsync(NatsJSContext js, List<(ulong Seq, string Payload)> into, int max, TimeSpan expires)
    {
        var consumer = await js.GetConsumerAsync("RR", "reader");
        await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = max, Expires = expires }))
        {
            into.Add((msg.Metadata!.Value.Sequence.Stream, msg.Data!));
            await msg.AckAsync();
        }
    }
}
