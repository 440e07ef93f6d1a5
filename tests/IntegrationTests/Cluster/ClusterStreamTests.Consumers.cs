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
        const string cluster = "r3consumer";
        await using var nodes = await Nodes.StartAsync(Postgres, cluster);
        var (silos, js) = (nodes.Silos, nodes.Js);
        var created = await js[0].CreateStreamAsync(new StreamConfig("RCON", ["rcon.>"]) { NumReplicas = 3 });
        int primary = created.Info.Cluster!.Leader![0] - 'a', survivor = (primary + 1) % 3;
        for (int i = 1; i <= 100; i++)
            Assert.Null((await js[i % 3].PublishAsync("rcon.m", $"m{i}")).Error);
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

        // Consumed through the survivor until every message is acknowledged; an ack whose confirmation did not come
        // (the consumer was moving) does not count, and its message may come again.
        var redelivered = new List<ulong>();
        await ProcessCluster.WaitUntilAsync(async () =>
            {
                try
                {
                    var next = await js[survivor].GetConsumerAsync("RCON", "worker");
                    await foreach (var msg in next.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 20, Expires = TimeSpan.FromSeconds(2) }))
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
                return acked.Count == 100;
            }, TimeSpan.FromSeconds(120),
            () => Task.FromResult($"acked {acked.Count} of 100; delivered again after a confirmed ack: {string.Join(",", redelivered)}"));
        Assert.Empty(redelivered);
        var info = (await js[survivor].GetConsumerAsync("RCON", "worker")).Info;
        Assert.Equal((100UL, 0), (info.AckFloor.StreamSeq, info.NumAckPending));
        Assert.NotEqual(created.Info.Cluster.Leader, (await js[survivor].GetStreamAsync("RCON")).Info.Cluster!.Leader);
    }
}
