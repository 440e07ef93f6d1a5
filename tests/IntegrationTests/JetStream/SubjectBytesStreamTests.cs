using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// Streams on non-ASCII subjects capture what clients publish (the configured subjects are text, the wire subjects
/// UTF-8 bytes), and subjects with empty tokens are not captured, as in nats-server.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class SubjectBytesStreamTests(ServersFixture servers)
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Stream_on_japanese_subjects_captures_acks_and_reads_back_the_same_subject()
    {
        await using var nats = new NatsConnection(new NatsOpts { Url = servers.Silo.Url });
        var js = nats.CreateJetStreamContext();
        var name = "JP" + _id;
        await js.CreateStreamAsync(new StreamConfig(name, ["日本.>"]));
        try
        {
            const string subject = "日本.東京.渋谷";
            var ack = await js.PublishAsync(subject, "こんにちは");
            ack.EnsureSuccess();
            Assert.Equal(name, ack.Stream);
            Assert.Equal(1UL, ack.Seq);

            var consumer = await js.CreateOrUpdateConsumerAsync(name, new ConsumerConfig("reader") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 1 }, cancellationToken: cts.Token))
            {
                Assert.Equal(subject, msg.Subject);
                Assert.Equal("こんにちは", msg.Data);
                await msg.AckAsync(cancellationToken: cts.Token);
            }

            // On the wire: a raw pull gets the message under the very bytes that were published.
            await js.CreateOrUpdateConsumerAsync(name, new ConsumerConfig("raw") { AckPolicy = ConsumerConfigAckPolicy.None });
            var (_, answer) = await RawClient.ExchangeAsync(servers.Silo.Port,
                $"CONNECT {{\"verbose\":false}}\r\nSUB r 1\r\nPUB $JS.API.CONSUMER.MSG.NEXT.{name}.raw r 1\r\n1\r\n", TimeSpan.FromSeconds(1));
            Assert.StartsWith("MSG " + Wire(subject) + " 1 $JS.ACK.", answer);
        }
        finally
        {
            await js.DeleteStreamAsync(name);
        }
    }

    /// <summary>
    /// The same stream on both servers, then raw publishes with a reply: a valid subject gets the same pub ack, a
    /// subject with an empty token is stored by neither (no responders), and a UTF-8 subject is acked by both.
    /// </summary>
    [SkippableFact]
    public async Task Captures_match_nats_server_for_utf8_and_empty_token_subjects()
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        var name = "ET" + _id;
        const string connect = "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true}\r\nSUB r 1\r\n";
        // One publish per connection, read until quiet: pub acks come asynchronously, so a PING could overtake them.
        string[] publishes = [$"PUB ет{_id}.x r 1\r\na\r\n", $"PUB ет{_id}..x r 1\r\nb\r\n", $"PUB ет{_id}. r 1\r\nc\r\n"];
        var answers = new List<string>();
        foreach (var port in new[] { servers.Reference!.Port, servers.Silo.Port })
        {
            var url = $"nats://127.0.0.1:{port}";
            await using var nats = new NatsConnection(new NatsOpts { Url = url });
            var js = nats.CreateJetStreamContext();
            await js.CreateStreamAsync(new StreamConfig(name, [$"ет{_id}.>"]));
            var answer = new StringBuilder();
            foreach (var publish in publishes)
                answer.Append((await RawClient.ExchangeAsync(port, connect + Wire(publish), TimeSpan.FromMilliseconds(700))).Answer).Append(" | ");
            // nats-server writes its pub ack as "MSG r 1  25" (an empty reply field, two blanks); the silo writes one
            // blank. That difference is not what this test is about, so runs of blanks count as one.
            answers.Add(System.Text.RegularExpressions.Regex.Replace(answer.ToString(), " +", " "));
            var info = await js.GetStreamAsync(name);
            Assert.Equal(1, info.Info.State.Messages);
            await js.DeleteStreamAsync(name);
        }
        Assert.True(answers[0] == answers[1], $"nats-server: {answers[0]}\nsilo:        {answers[1]}");
        Assert.Contains($"{{\"stream\":\"{name}\", \"seq\":1}}", answers[1]);
    }

    /// <summary>The UTF-8 bytes of a text, one char per byte, as RawClient writes and reads scripts.</summary>
    private static string Wire(string text) => Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(text));
}
