using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// Partitioned streams (our extension, "partitions": N): subjects hash to partitions, each with its own grain, log
/// and sequence; acks name the partition; info adds the partitions up; consumers read one partition each.
/// </summary>
public sealed class PartitionTests
{
    [Fact]
    public async Task Subjects_spread_over_partitions_each_with_its_own_sequence_and_survive_a_restart()
    {
        var silo = await SiloProcess.StartAsync();
        var dataDirectory = silo.DataDirectory;
        const int partitions = 4, subjects = 20, perSubject = 5;
        var partitionOf = new Dictionary<string, int>();
        var lastSeq = new Dictionary<int, long>();
        await using (var nats = new NatsConnection(new NatsOpts { Url = silo.Url }))
        {
            var create = await nats.RequestAsync<string, string>("$JS.API.STREAM.CREATE.PARTED",
                "{\"name\":\"PARTED\",\"subjects\":[\"parted.>\"],\"partitions\":4}");
            Assert.Equal(4, JsonNode.Parse(create.Data!)!["config"]!["partitions"]!.GetValue<int>());

            for (int round = 0; round < perSubject; round++)
            {
                for (int s = 0; s < subjects; s++)
                {
                    var subject = $"parted.k{s}";
                    var reply = await nats.RequestAsync<string, string>(subject, $"{s}:{round}");
                    var ack = JsonNode.Parse(reply.Data!)!;
                    int partition = ack["partition"]!.GetValue<int>();
                    long seq = ack["seq"]!.GetValue<long>();
                    Assert.Equal("PARTED", ack["stream"]!.GetValue<string>());
                    // A subject always lands in the same partition, and each partition counts from 1 without gaps.
                    Assert.Equal(partitionOf.GetValueOrDefault(subject, partition), partition);
                    partitionOf[subject] = partition;
                    Assert.Equal(lastSeq.GetValueOrDefault(partition) + 1, seq);
                    lastSeq[partition] = seq;
                }
            }
            Assert.True(lastSeq.Count > 1, "20 subjects should not all hash to one partition");
        }
        await silo.StopAsync();
        await silo.DisposeAsync();

        await using var restarted = await SiloProcess.StartAsync(dataDirectory: dataDirectory);
        await using var client = new NatsConnection(new NatsOpts { Url = restarted.Url });
        var js = client.CreateJetStreamContext();
        var stream = await js.GetStreamAsync("PARTED");
        Assert.Equal(subjects * perSubject, stream.Info.State.Messages);
        Assert.Equal(subjects, stream.Info.State.NumSubjects);

        // Last by subject finds the right partition by itself.
        var last = await stream.GetAsync(new StreamMsgGetRequest { LastBySubj = "parted.k7" });
        Assert.Equal($"7:{perSubject - 1}", System.Text.Encoding.UTF8.GetString(last.Message.Data.Span));

        // One consumer per partition: together they see every message exactly once, each in its partition's order.
        var seen = new List<string>();
        for (int p = 0; p < partitions; p++)
        {
            var created = await client.RequestAsync<string, string>($"$JS.API.CONSUMER.CREATE.PARTED.part{p}",
                $"{{\"stream_name\":\"PARTED\",\"config\":{{\"durable_name\":\"part{p}\",\"ack_policy\":\"explicit\",\"partition\":{p}}}}}");
            Assert.Null(JsonNode.Parse(created.Data!)!["error"]);
            var consumer = await js.GetConsumerAsync("PARTED", $"part{p}");
            Assert.Equal((ulong)lastSeq.GetValueOrDefault(p), consumer.Info.NumPending);
            ulong previous = 0;
            await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 200, Expires = TimeSpan.FromSeconds(2) }))
            {
                Assert.Equal(p, partitionOf[msg.Subject]);
                Assert.True(msg.Metadata!.Value.Sequence.Stream > previous);
                previous = msg.Metadata!.Value.Sequence.Stream;
                seen.Add(msg.Data!);
                await msg.AckAsync();
            }
        }
        var expected = Enumerable.Range(0, subjects).SelectMany(s => Enumerable.Range(0, perSubject).Select(r => $"{s}:{r}"));
        Assert.Equal(expected.Order(), seen.Order());

        var refused = await client.RequestAsync<string, string>("$JS.API.CONSUMER.CREATE.PARTED.bad",
            "{\"stream_name\":\"PARTED\",\"config\":{\"durable_name\":\"bad\",\"partition\":9}}");
        Assert.NotNull(JsonNode.Parse(refused.Data!)!["error"]);

        var purged = await stream.PurgeAsync(new StreamPurgeRequest());
        Assert.Equal(subjects * perSubject, (long)purged.Purged);
        Assert.True(await js.DeleteStreamAsync("PARTED"));
    }
}
