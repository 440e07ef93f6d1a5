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
            await js[0].DeleteStreamAsync("AGAIN");
        }
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
