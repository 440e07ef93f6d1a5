using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

public sealed partial class ConsumerApiDifferentialTests
{
    /// <summary>
    /// The dead-letter pattern: a message of an interest stream is delivered max_deliver times and never acknowledged.
    /// The consumer's ack floor stays below it and the stream keeps it, so whoever handles the max-deliveries advisory
    /// can still read it by sequence, on the silo as on nats-server.
    /// </summary>
    [SkippableFact]
    public async Task A_message_past_max_deliver_stays_in_an_interest_stream_as_on_nats_server()
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        var expected = await SameOnBothAsync("DLQ", DeadLetterAsync);
        Assert.EndsWith("stored 1, message 1 readable True", expected);
    }

    private static async Task<string> DeadLetterAsync(string url, string name)
    {
        await using var nats = new NatsConnection(new NatsOpts { Url = url });
        var js = nats.CreateJetStreamContext();
        await js.CreateStreamAsync(new StreamConfig(name, [$"{name}.>"]) { Retention = StreamConfigRetention.Interest });
        var consumer = await js.CreateOrUpdateConsumerAsync(name, new ConsumerConfig("worker")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            AckWait = TimeSpan.FromMilliseconds(300),
            MaxDeliver = 2,
        });
        (await js.PublishAsync($"{name}.job", 1)).EnsureSuccess();
        (await js.PublishAsync($"{name}.job", 2)).EnsureSuccess();
        var lines = new List<string>();
        for (int round = 0; round < 3; round++)
        {
            var delivered = new List<string>();
            // Pulls with an expiry: nats-server 2.9.10 left a no-wait pull after the last delivery unanswered (the
            // client waited out its 30 s default).
            await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 2, Expires = TimeSpan.FromMilliseconds(1100) }))
            {
                delivered.Add($"{msg.Metadata!.Value.Sequence.Stream}x{msg.Metadata!.Value.NumDelivered}");
                // The second message is handled; the first fails every time.
                if (msg.Data == 2)
                    await msg.AckAsync(new AckOpts { DoubleAck = true });
            }
            lines.Add($"round {round}: {string.Join(" ", delivered)}");
            await Task.Delay(400);
        }
        // Longer than the silo's interest sweep (1 s).
        await Task.Delay(1500);
        await consumer.RefreshAsync();
        var info = consumer.Info;
        lines.Add($"floor {info.AckFloor.ConsumerSeq}/{info.AckFloor.StreamSeq} ack pending {info.NumAckPending}");
        var stream = await js.GetStreamAsync(name);
        bool readable;
        try
        {
            readable = (await stream.GetAsync(new StreamMsgGetRequest { Seq = 1 })).Message.Seq == 1;
        }
        catch (NatsJSApiException)
        {
            readable = false;
        }
        lines.Add($"stored {stream.Info.State.Messages}, message 1 readable {readable}");
        return string.Join("\n", lines);
    }
}
