using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

public sealed partial class ConsumerApiDifferentialTests
{
    /// <summary>
    /// Consumer info's delivered and ack floor sequences after fetches and acks, for every ack policy, filtered to a
    /// subject whose last message is followed by others and unfiltered: nats-server's delivered stream sequence is
    /// how far the consumer has read (past what its filter skipped), the explicit floor follows it once nothing is
    /// owed, an ack-none floor is the last message delivered and an ack-all floor the message acknowledged.
    /// </summary>
    [SkippableFact]
    public async Task Delivered_and_ack_floor_sequences_match_nats_server()
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        var expected = await SameOnBothAsync("SEQS", SequencesAsync);
        Assert.Equal(3 * 3 * 5, expected.Split('\n').Length);
    }

    private static async Task<string> SequencesAsync(string url, string name)
    {
        await using var nats = new NatsConnection(new NatsOpts { Url = url });
        var js = nats.CreateJetStreamContext();
        await js.CreateStreamAsync(new StreamConfig(name, [$"{name}.>"]));
        // s0: 1, 4, 7; s1: 2, 5, 8; s2: 3, 6.
        for (int i = 0; i < 8; i++)
            (await js.PublishAsync($"{name}.s{i % 3}", i)).EnsureSuccess();
        var lines = new List<string>();
        foreach (var policy in new[] { ConsumerConfigAckPolicy.Explicit, ConsumerConfigAckPolicy.None, ConsumerConfigAckPolicy.All })
        {
            foreach (var filter in new[] { $"{name}.s0", $"{name}.s2", null })
            {
                var label = $"{policy} {filter ?? "all"}";
                var consumer = await js.CreateOrUpdateConsumerAsync(name,
                    new ConsumerConfig($"c{lines.Count}") { AckPolicy = policy, FilterSubject = filter });
                lines.Add($"{label} created: {await SequencesOfAsync(consumer)}");
                foreach (int batch in new[] { 1, 5 })
                {
                    var fetched = new List<INatsJSMsg<int>>();
                    await foreach (var msg in consumer.FetchNoWaitAsync<int>(new NatsJSFetchOpts { MaxMsgs = batch }))
                        fetched.Add(msg);
                    lines.Add($"{label} fetched {fetched.Count} of {batch}: {await SequencesOfAsync(consumer)}");
                    // Ack-all acknowledges all but the last message of the batch at once.
                    var acked = policy == ConsumerConfigAckPolicy.All && fetched.Count > 1 ? fetched[^2..^1] : fetched;
                    if (policy != ConsumerConfigAckPolicy.None)
                        foreach (var msg in acked)
                            await msg.AckAsync(new AckOpts { DoubleAck = true });
                    lines.Add($"{label} acked: {await SequencesOfAsync(consumer)}");
                }
            }
        }
        return string.Join("\n", lines);
    }

    private static async Task<string> SequencesOfAsync(INatsJSConsumer consumer)
    {
        await consumer.RefreshAsync();
        var info = consumer.Info;
        return $"delivered {info.Delivered.ConsumerSeq}/{info.Delivered.StreamSeq} floor {info.AckFloor.ConsumerSeq}/{info.AckFloor.StreamSeq} "
            + $"ack pending {info.NumAckPending} pending {info.NumPending}";
    }
}
