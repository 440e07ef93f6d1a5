using System.Text.Json.Nodes;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Security;

/// <summary>
/// Hostile and invalid names, subjects and limits sent to the JetStream API of the silo and of nats-server 2.9.10:
/// every refusal nats-server makes, the silo makes with the same error, and nothing is created on either.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class ApiValidationDifferentialTests(ServersFixture servers)
{
    private static readonly HashSet<string> Ignored = ["created", "first_ts", "last_ts", "time"];

    private static readonly (string Subject, string Body)[] Script =
    [
        ("$JS.API.STREAM.CREATE.{S}", "{\"name\":\"{S}\",\"subjects\":[\"{s}.>\"]}"),
        // Consumer names that would be paths.
        ("$JS.API.CONSUMER.CREATE.{S}./tmp", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"/tmp\",\"ack_policy\":\"explicit\"}}"),
        ("$JS.API.CONSUMER.DURABLE.CREATE.{S}./tmp", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"/tmp\",\"ack_policy\":\"explicit\"}}"),
        ("$JS.API.CONSUMER.DURABLE.CREATE.{S}.a\\b", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"a\\\\b\",\"ack_policy\":\"explicit\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.a/b", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"a/b\",\"ack_policy\":\"explicit\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"../../{S}X\",\"ack_policy\":\"explicit\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"..\",\"ack_policy\":\"explicit\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"a b\",\"ack_policy\":\"explicit\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"a*b\",\"ack_policy\":\"explicit\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"a>\",\"ack_policy\":\"explicit\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"a\\tb\",\"ack_policy\":\"explicit\"}}"),
        ("$JS.API.CONSUMER.INFO.{S}./tmp", ""),
        ("$JS.API.CONSUMER.DELETE.{S}./tmp", ""),
        ("$JS.API.CONSUMER.NAMES.{S}", ""),
        // Stream names.
        ("$JS.API.STREAM.CREATE.a/{S}", "{\"name\":\"a/{S}\"}"),
        ("$JS.API.STREAM.CREATE.a\\{S}", "{\"name\":\"a\\\\{S}\"}"),
        ("$JS.API.STREAM.CREATE.a*{S}", "{\"name\":\"a*{S}\"}"),
        ("$JS.API.STREAM.CREATE.a>{S}", "{\"name\":\"a>{S}\"}"),
        ("$JS.API.STREAM.INFO./tmp", ""),
        ("$JS.API.STREAM.DELETE./tmp", ""),
        // Stream subjects and limits.
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"$JS.API.>\"]}"),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"$JS.API.STREAM.>\"]}"),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"$JS.API.INFO\"]}"),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s}a.x\",\"{s}a.x\"]}"),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s}a.*\",\"{s}a.b\"]}"),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s}a.>\",\"{s}a.b.c\"]}"),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s}a..b\"]}"),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s}a.\"]}"),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s} a\"]}"),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"\"]}"),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"duplicate_window\":-1}"),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"max_age\":-5}"),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"num_replicas\":-1}"),
        ("$JS.API.STREAM.INFO.{S}A", ""),
        // Consumer limits, filters and deliver subjects.
        ("$JS.API.CONSUMER.CREATE.{S}.W1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"W1\",\"max_waiting\":-1}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.W2", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"W2\",\"filter_subject\":\"zzz\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.W3", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"W3\",\"filter_subject\":\"{s}.a..\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.W4", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"W4\",\"filter_subject\":\"{s}\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.W5", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"W5\",\"filter_subject\":\"*.a\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.P1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P1\",\"deliver_subject\":\"a.*\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.P2", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P2\",\"deliver_subject\":\"a.>\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.P3", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P3\",\"deliver_subject\":\"{s}.x\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.P4", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P4\",\"deliver_subject\":\"a..b\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.P5", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P5\",\"deliver_subject\":\"a b\"}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.P6", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P6\",\"deliver_subject\":\"ok.{s}\",\"max_waiting\":5}}"),
        ("$JS.API.CONSUMER.CREATE.{S}.P7", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P7\",\"deliver_subject\":\"a.*\",\"filter_subject\":\"zzz\"}}"),
        ("$JS.API.CONSUMER.NAMES.{S}", ""),
        // Sealing is one way.
        ("$JS.API.STREAM.UPDATE.{S}", "{\"name\":\"{S}\",\"subjects\":[\"{s}.>\"],\"sealed\":true}"),
        ("$JS.API.STREAM.UPDATE.{S}", "{\"name\":\"{S}\",\"subjects\":[\"{s}.>\"],\"sealed\":false}"),
        ("$JS.API.STREAM.UPDATE.{S}", "{\"name\":\"{S}\",\"subjects\":[\"{s}.>\",\"{s}.a\"],\"sealed\":true}"),
        ("$JS.API.STREAM.INFO.{S}", ""),
        ("$JS.API.STREAM.DELETE.{S}", ""),
    ];

    [SkippableFact]
    public async Task Refusals_match_nats_server()
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        var name = "VAL" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
        var expected = await RunAsync(servers.Reference!.Url, name);
        var actual = await RunAsync(servers.Silo.Url, name);
        var failures = new List<string>();
        for (int i = 0; i < Script.Length; i++)
        {
            var e = ApiScript.Normalize(expected[i], Ignored);
            var a = ApiScript.Normalize(actual[i], Ignored);
            if (!JsonNode.DeepEquals(e, a))
                failures.Add($"step {i} {Script[i].Subject} {Script[i].Body}\n  nats-server: {e?.ToJsonString()}\n  silo:        {a?.ToJsonString()}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static async Task<List<string?>> RunAsync(string url, string name)
    {
        await using var nats = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = url });
        await nats.ConnectAsync();
        var answers = new List<string?>();
        foreach (var (subject, body) in Script)
            answers.Add(await ApiScript.RequestAsync(nats, ApiScript.Fill(subject, name), ApiScript.Fill(body, name), null, TimeSpan.FromSeconds(3)));
        return answers;
    }
}
