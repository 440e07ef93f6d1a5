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

    private static readonly (string Subject, string Body, (string, string)[]? Headers)[] Script =
    [
        ("$JS.API.STREAM.CREATE.{S}", "{\"name\":\"{S}\",\"subjects\":[\"{s}.>\"]}", null),
        // Consumer names that would be paths.
        ("$JS.API.CONSUMER.CREATE.{S}./tmp", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"/tmp\",\"ack_policy\":\"explicit\"}}", null),
        ("$JS.API.CONSUMER.DURABLE.CREATE.{S}./tmp", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"/tmp\",\"ack_policy\":\"explicit\"}}", null),
        ("$JS.API.CONSUMER.DURABLE.CREATE.{S}.a\\b", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"a\\\\b\",\"ack_policy\":\"explicit\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}.a/b", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"a/b\",\"ack_policy\":\"explicit\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"../../{S}X\",\"ack_policy\":\"explicit\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"..\",\"ack_policy\":\"explicit\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"a b\",\"ack_policy\":\"explicit\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"a*b\",\"ack_policy\":\"explicit\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"a>\",\"ack_policy\":\"explicit\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}", "{\"stream_name\":\"{S}\",\"config\":{\"name\":\"a\\tb\",\"ack_policy\":\"explicit\"}}", null),
        ("$JS.API.CONSUMER.INFO.{S}./tmp", "", null),
        ("$JS.API.CONSUMER.DELETE.{S}./tmp", "", null),
        ("$JS.API.CONSUMER.NAMES.{S}", "", null),
        // Stream names.
        ("$JS.API.STREAM.CREATE.a/{S}", "{\"name\":\"a/{S}\"}", null),
        ("$JS.API.STREAM.CREATE.a\\{S}", "{\"name\":\"a\\\\{S}\"}", null),
        ("$JS.API.STREAM.CREATE.a*{S}", "{\"name\":\"a*{S}\"}", null),
        ("$JS.API.STREAM.CREATE.a>{S}", "{\"name\":\"a>{S}\"}", null),
        ("$JS.API.STREAM.INFO./tmp", "", null),
        ("$JS.API.STREAM.DELETE./tmp", "", null),
        // Stream subjects and limits.
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"$JS.API.>\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"$JS.API.STREAM.>\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"$JS.API.INFO\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s}a.x\",\"{s}a.x\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s}a.*\",\"{s}a.b\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s}a.>\",\"{s}a.b.c\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s}a..b\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s}a.\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s} a\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"duplicate_window\":-1}", null),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"max_age\":-5}", null),
        ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"num_replicas\":-1}", null),
        ("$JS.API.STREAM.INFO.{S}A", "", null),
        // Consumer limits, filters and deliver subjects.
        ("$JS.API.CONSUMER.CREATE.{S}.W1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"W1\",\"max_waiting\":-1}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}.W2", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"W2\",\"filter_subject\":\"zzz\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}.W3", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"W3\",\"filter_subject\":\"{s}.a..\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}.W4", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"W4\",\"filter_subject\":\"{s}\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}.W5", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"W5\",\"filter_subject\":\"*.a\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}.P1", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P1\",\"deliver_subject\":\"a.*\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}.P2", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P2\",\"deliver_subject\":\"a.>\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}.P3", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P3\",\"deliver_subject\":\"{s}.x\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}.P4", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P4\",\"deliver_subject\":\"a..b\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}.P5", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P5\",\"deliver_subject\":\"a b\"}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}.P6", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P6\",\"deliver_subject\":\"ok.{s}\",\"max_waiting\":5}}", null),
        ("$JS.API.CONSUMER.CREATE.{S}.P7", "{\"stream_name\":\"{S}\",\"config\":{\"durable_name\":\"P7\",\"deliver_subject\":\"a.*\",\"filter_subject\":\"zzz\"}}", null),
        ("$JS.API.CONSUMER.NAMES.{S}", "", null),
        // Sealing is one way.
        ("$JS.API.STREAM.UPDATE.{S}", "{\"name\":\"{S}\",\"subjects\":[\"{s}.>\"],\"sealed\":true}", null),
        ("$JS.API.STREAM.UPDATE.{S}", "{\"name\":\"{S}\",\"subjects\":[\"{s}.>\"],\"sealed\":false}", null),
        ("$JS.API.STREAM.UPDATE.{S}", "{\"name\":\"{S}\",\"subjects\":[\"{s}.>\",\"{s}.a\"],\"sealed\":true}", null),
        ("$JS.API.STREAM.INFO.{S}", "", null),
        ("$JS.API.STREAM.DELETE.{S}", "", null),
    ];

    [SkippableFact]
    public async Task Refusals_match_nats_server()
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        var name = "VAL" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
        var expected = await ApiScript.RunAsync(servers.Reference!.Url, name, Script);
        var actual = await ApiScript.RunAsync(servers.Silo.Url, name, Script);
        ApiScript.AssertSameAnswers(expected, actual, i => $"{Script[i].Subject} {Script[i].Body}", Ignored);
    }
}
