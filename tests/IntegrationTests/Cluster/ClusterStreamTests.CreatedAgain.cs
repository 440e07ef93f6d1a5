using System.Text.Json;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Cluster;

public sealed partial class ClusterStreamTests
{
    /// <summary>
    /// A script's delete-then-create: a stream (R1, then R3) with a durable consumer is used through every silo,
    /// deleted, and created again at once with its home on another node (a stream made in between takes the old
    /// home). Every silo had the old stream's grains located on the old home; the create, the publishes through every
    /// silo, the consumer's create and its fetch must all work the first time, as on nats-server.
    /// </summary>
    [SkippableFact]
    public async Task A_stream_deleted_and_created_again_with_another_home_serves_every_silo_at_once()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        await using var nodes = await Nodes.StartAsync(Postgres, "again");
        var js = nodes.Js;
        foreach (int replicas in new[] { 1, 3 })
        {
            var config = new StreamConfig("AGAIN", ["again.>"]) { NumReplicas = replicas };
            var oldHome = (await js[0].CreateStreamAsync(config)).Info.Cluster!.Leader!;
            await UseThroughEverySiloAsync(js, "old");

            await js[0].DeleteStreamAsync("AGAIN");
            var pad = await js[0].CreateStreamAsync(new StreamConfig($"PAD{replicas}", [$"pad{replicas}.>"]));
            var newHome = (await js[0].CreateStreamAsync(config)).Info.Cluster!.Leader!;
            Assert.NotEqual(oldHome, newHome);
            Assert.Equal(oldHome, pad.Info.Cluster!.Leader);
            await UseThroughEverySiloAsync(js, "new");
            await AssertConsumerClusterAsync(js[2], newHome, replicas);
            await js[0].DeleteStreamAsync("AGAIN");
        }
    }

    /// <summary>
    /// Consumer info names the cluster and the node that serves the consumer, and for a replicated stream each replica
    /// that holds its state, with nats-server's fields (current once the acks reached it, and a peer id).
    /// </summary>
    private static async Task AssertConsumerClusterAsync(NatsJSContext js, string home, int replicas)
    {
        var cluster = (await js.GetConsumerAsync("AGAIN", "reader0")).Info.Cluster!;
        Assert.Equal(("again", home), (cluster.Name, cluster.Leader));
        if (replicas == 1)
        {
            Assert.Empty(cluster.Replicas ?? []);
            return;
        }
        var streamReplicas = (await js.GetStreamAsync("AGAIN")).Info.Cluster!.Replicas!.Select(r => r.Name).Order();
        Assert.Equal(streamReplicas, cluster.Replicas!.Select(r => r.Name).Order());
        // NATS.Net's model has no peer id; the reply has it.
        var raw = await js.Connection.RequestAsync<string, string>("$JS.API.CONSUMER.INFO.AGAIN.reader0", "");
        using (var info = JsonDocument.Parse(raw.Data!))
            Assert.All(info.RootElement.GetProperty("cluster").GetProperty("replicas").EnumerateArray(),
                r => Assert.Equal(8, r.GetProperty("peer").GetString()!.Length));
        await ProcessCluster.WaitUntilAsync(
            async () => (await js.GetConsumerAsync("AGAIN", "reader0")).Info.Cluster!.Replicas!.All(r => r.Current),
            TimeSpan.FromSeconds(15), async () => "consumer replicas not current: " + string.Join(", ",
                (await js.GetConsumerAsync("AGAIN", "reader0")).Info.Cluster!.Replicas!.Select(r => $"{r.Name} {r.Current}")));
    }

    /// <summary>Publishes one message through each silo, then creates AGAIN's consumer and fetches them all through each.</summary>
    private static async Task UseThroughEverySiloAsync(NatsJSContext[] js, string prefix)
    {
        for (int i = 0; i < js.Length; i++)
        {
            var ack = await js[i].PublishAsync("again.m", $"{prefix}{i}");
            Assert.Null(ack.Error);
            Assert.Equal((ulong)i + 1, ack.Seq);
        }
        for (int i = 0; i < js.Length; i++)
        {
            var consumer = await js[i].CreateOrUpdateConsumerAsync("AGAIN", new ConsumerConfig($"reader{i}") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
            var read = new List<string>();
            await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = js.Length, Expires = TimeSpan.FromSeconds(5) }))
            {
                read.Add(msg.Data!);
                await msg.AckAsync();
            }
            Assert.Equal(Enumerable.Range(0, js.Length).Select(n => $"{prefix}{n}"), read);
        }
    }
}
