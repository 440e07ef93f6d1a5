using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// Consumer API requests, pull requests and acks sent to the silo and to nats-server 2.9.10: every reply (JSON
/// field by field with times ignored, delivered messages with their ack subjects, status replies) must match.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed partial class ConsumerApiDifferentialTests(ServersFixture servers)
{
    private static readonly HashSet<string> Ignored = ["created", "time", "last_active", "first_ts", "last_ts"];

    private static readonly (string Subject, string Body)[] Script =
    [
        ("$JS.API.STREAM.CREATE.{S}", "{\"name\":\"{S}\",\"subjects\":[\"{s}.>\"]}"),
        ("{s}.a", "one"),
        ("{s}.b", "two"),
        ("{s}.a", "three"),
        ("$JS.API.CONSUMER.CREATE.{S}.D1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"D1\",\"ack_policy\":\"explicit\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.D1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"D1\",\"ack_policy\":\"explicit\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.D1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"D1\",\"ack_policy\":\"none\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.D3.{s}.a", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"D3\",\"filter_subject\":\"{s}.b\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.D4", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"D4\",\"flow_control\":true,\"deliver_subject\":\"x\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.D5", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"D5\",\"backoff\":[1000000000,2000000000],\"max_deliver\":2}}"),
        ("$JS.API.CONSUMER.CREATE.{S}NOPE.D1", "{\"stream_name\":\"{S}NOPE\",\"config\":{\"durable_name\":\"D1\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.D6", "{bad"),
        ("$JS.API.CONSUMER.INFO.{S}.D1", ""),
        ("$JS.API.CONSUMER.INFO.{S}.NOPE", ""),
        ("$JS.API.CONSUMER.NAMES.{S}", ""),
        ("$JS.API.CONSUMER.MSG.NEXT.{S}.D1", "{\"batch\":1}"),
        ("$JS.API.CONSUMER.INFO.{S}.D1", ""),
        ("$JS.API.CONSUMER.MSG.NEXT.{S}.D1", "{\"batch\":5,\"no_wait\":true}"),
        ("$JS.API.CONSUMER.MSG.NEXT.{S}.D1", "{\"batch\":5,\"no_wait\":true}"),
        ("$JS.API.CONSUMER.MSG.NEXT.{S}.D1", "{\"batch\":2,\"expires\":300000000}"),
        ("$JS.API.CONSUMER.MSG.NEXT.{S}.NOPE", "{\"batch\":1}"),
        ("$JS.API.CONSUMER.CREATE.{S}.P1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P1\",\"deliver_subject\":\"push.p1\",\"ack_policy\":\"explicit\"}}"),
        ("$JS.API.CONSUMER.MSG.NEXT.{S}.P1", "{\"batch\":1}"),
        ("$JS.API.CONSUMER.CREATE.{S}.L1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"L1\",\"ack_policy\":\"explicit\",\"max_batch\":2,\"max_waiting\":1}}"),
        ("$JS.API.CONSUMER.MSG.NEXT.{S}.L1", "{\"batch\":3}"),
        ("$JS.API.CONSUMER.CREATE.{S}.F1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"F1\",\"ack_policy\":\"explicit\",\"filter_subject\":\"{s}.a\",\"deliver_policy\":\"last\"}}"),
        ("$JS.API.CONSUMER.MSG.NEXT.{S}.F1", "{\"batch\":5,\"no_wait\":true}"),
        ("$JS.API.CONSUMER.CREATE.{S}.V1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"V1\",\"ack_policy\":\"explicit\",\"idle_heartbeat\":1000000000}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.V1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"V1\",\"ack_policy\":\"explicit\",\"flow_control\":true}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.V1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"V1\",\"ack_policy\":\"explicit\",\"rate_limit_bps\":1000}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.V1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"V1\",\"ack_policy\":\"explicit\",\"max_batch\":-1}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.V1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"V1\",\"ack_policy\":\"explicit\",\"num_replicas\":3}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.V1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"V1\",\"ack_policy\":\"explicit\",\"opt_start_seq\":2}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.V1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"V1\",\"ack_policy\":\"explicit\",\"deliver_policy\":\"by_start_sequence\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.V1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"V1\",\"ack_policy\":\"explicit\",\"deliver_policy\":\"by_start_sequence\",\"opt_start_seq\":1,\"opt_start_time\":\"2024-01-01T00:00:00Z\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.V2", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"V2\",\"ack_policy\":\"explicit\",\"deliver_policy\":\"by_start_sequence\",\"opt_start_seq\":99}}"),
        ("$JS.API.CONSUMER.MSG.NEXT.{S}.V2", "{\"batch\":5,\"no_wait\":true}"),
        ("$JS.API.CONSUMER.CREATE.{S}.N1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"N1\",\"ack_policy\":\"explicit\",\"deliver_policy\":\"new\"}}"),
        ("$JS.API.CONSUMER.INFO.{S}.N1", ""),
        ("$JS.API.CONSUMER.CREATE.{S}.S1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"S1\",\"ack_policy\":\"all\",\"deliver_policy\":\"by_start_sequence\",\"opt_start_seq\":2}}"),
        ("$JS.API.CONSUMER.MSG.NEXT.{S}.S1", "{\"batch\":5,\"no_wait\":true}"),
        ("$JS.API.CONSUMER.INFO.{S}.S1", ""),
        ("$JS.API.CONSUMER.DELETE.{S}.D1", ""),
        ("$JS.API.CONSUMER.DELETE.{S}.D1", ""),
        ("$JS.API.CONSUMER.DELETE.{S}NOPE.D1", ""),
        ("$JS.API.STREAM.INFO.{S}", ""),
    ];

    [SkippableFact]
    public async Task Consumer_api_and_pull_replies_match_nats_server()
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        var name = "CDIFF" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
        var expected = await RunAsync(servers.Reference!.Url, name);
        var actual = await RunAsync(servers.Silo.Url, name);
        var failures = new List<string>();
        for (int i = 0; i < Script.Length; i++)
        {
            if (expected[i] != actual[i])
                failures.Add($"step {i} {Script[i].Subject} {Script[i].Body}\n  nats-server: {expected[i]}\n  silo:        {actual[i]}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>
    /// Every delivered message carries how many more the consumer has pending (the last token of its ack subject):
    /// fetched one at a time, filtered and not, with a message deleted ahead of the consumer.
    /// </summary>
    [SkippableFact]
    public async Task Pending_counts_in_delivered_messages_match_nats_server()
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        var expected = await SameOnBothAsync("PEND", PendingCountsAsync);
        Assert.Equal(8, expected.Split('\n').Length);
    }

    /// <summary>
    /// Runs a client script on nats-server and then on the silo, with one stream name unique to the run, and asserts
    /// the silo's transcript is nats-server's; returns nats-server's for the caller to check it shows what it tests.
    /// </summary>
    private async Task<string> SameOnBothAsync(string prefix, Func<string, string, Task<string>> script)
    {
        var name = prefix + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
        var expected = await script(servers.Reference!.Url, name);
        Assert.Equal(expected, await script(servers.Silo.Url, name));
        return expected;
    }

    private static async Task<string> PendingCountsAsync(string url, string name)
    {
        await using var nats = new NatsConnection(new NatsOpts { Url = url });
        var js = nats.CreateJetStreamContext();
        await js.CreateStreamAsync(new StreamConfig(name, [$"{name}.>"]));
        for (int i = 0; i < 12; i++)
            (await js.PublishAsync($"{name}.{(i % 3 == 0 ? "x" : "y")}", i)).EnsureSuccess();
        await js.DeleteMessageAsync(name, new StreamMsgDeleteRequest { Seq = 11 });
        var counts = new List<string>();
        foreach (var filter in new[] { $"{name}.>", $"{name}.y" })
        {
            var consumer = await js.CreateOrUpdateConsumerAsync(name,
                new ConsumerConfig("c" + counts.Count) { AckPolicy = ConsumerConfigAckPolicy.Explicit, FilterSubject = filter });
            for (int i = 0; i < 4; i++)
            {
                await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 1, Expires = TimeSpan.FromSeconds(2) }))
                {
                    counts.Add($"{filter} {msg.Data}: pending {msg.Metadata!.Value.NumPending}");
                    await msg.AckAsync();
                }
            }
            (await js.PublishAsync($"{name}.y", 99)).EnsureSuccess();
        }
        return string.Join("\n", counts);
    }

    private static async Task<List<string>> RunAsync(string url, string name)
    {
        await using var nats = new NatsConnection(new NatsOpts { Url = url });
        await nats.ConnectAsync();
        var answers = new List<string>();
        int n = 0;
        foreach (var (subject, body) in Script)
        {
            var inbox = $"_DIFF.{name}.{n++}";
            await using var sub = await nats.SubscribeCoreAsync<byte[]>(inbox);
            await nats.PingAsync();
            await nats.PublishAsync(ApiScript.Fill(subject, name), Encoding.UTF8.GetBytes(ApiScript.Fill(body, name)), replyTo: inbox);
            var replies = new List<string>();
            while (true)
            {
                // The first reply may wait on a cold grain activation on a busy machine; after it, silence ends the answer.
                var window = replies.Count == 0 ? 3000 : subject.Contains("NEXT") ? 700 : 300;
                using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(window));
                try
                {
                    var msg = await sub.Msgs.ReadAsync(quiet.Token);
                    replies.Add(Describe(msg, name));
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            answers.Add(replies.Count == 0 ? "<no reply>" : string.Join(" | ", replies));
        }
        return answers;
    }

    private static string Describe(NatsMsg<byte[]> msg, string name)
    {
        var data = msg.Data is null ? "" : Encoding.UTF8.GetString(msg.Data);
        var status = msg.Headers is { } h && h.Code != 0 ? $"{h.Code} {h.MessageText}" : "";
        if (data.StartsWith('{'))
            data = ApiScript.Normalize(data, Ignored)!.ToJsonString();
        // The ack subject's timestamp token differs between servers.
        var reply = msg.ReplyTo is null ? "" : AckTimestamp().Replace(msg.ReplyTo, ".<ts>.");
        var ephemeral = Regex.Replace(data, "\"name\":\"[A-Za-z0-9]{8,22}\"", "\"name\":\"<eph>\"");
        return $"[{msg.Subject.Replace(name.ToLowerInvariant(), "s")}] {reply} {status} {ephemeral}".Trim();
    }


    [GeneratedRegex(@"\.\d{15,}\.")]
    private static partial Regex AckTimestamp();
}
