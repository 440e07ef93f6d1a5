using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// The same JetStream API requests and publishes sent to the silo and to nats-server 2.9.10 get the same JSON,
/// compared field by field with times ignored.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class StreamApiDifferentialTests(ServersFixture servers)
{
    private static readonly HashSet<string> Ignored = ["created", "first_ts", "last_ts", "time"];

    /// <summary>Each step: subject, body, optional headers. {S} is replaced by a stream name unique to the run.</summary>
    private static readonly (string Subject, string Body, (string, string)[]? Headers)[] Script =
    [
        ("$JS.API.STREAM.CREATE.{S}", "{\"name\":\"{S}\",\"subjects\":[\"{s}.>\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}", "{\"name\":\"{S}\",\"subjects\":[\"{s}.>\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}", "{\"name\":\"{S}\",\"subjects\":[\"{s}.x\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}X", "{\"name\":\"{S}X\",\"subjects\":[\"{s}.a\"]}", null),
        ("$JS.API.STREAM.CREATE.{S}Y", "{\"name\":\"{S}Z\"}", null),
        ("$JS.API.STREAM.CREATE.{S}Y", "{bad", null),
        ("$JS.API.STREAM.CREATE.{S}Y", "", null),
        ("$JS.API.STREAM.CREATE.{S}R", "{\"name\":\"{S}R\",\"num_replicas\":3}", null),
        ("$JS.API.STREAM.CREATE.{S}R", "{\"name\":\"{S}R\",\"retention\":\"bogus\"}", null),
        ("$JS.API.STREAM.CREATE.{S}L", "{\"name\":\"{S}L\",\"sealed\":true}", null),
        ("$JS.API.STREAM.INFO.{S}NOPE", "", null),
        ("{s}.a", "hello", null),
        ("{s}.b", "x", [("Nats-Msg-Id", "m1")]),
        ("{s}.b", "x", [("Nats-Msg-Id", "m1")]),
        ("{s}.b", "x", [("Nats-Expected-Stream", "OTHER")]),
        ("{s}.b", "x", [("Nats-Expected-Last-Sequence", "1")]),
        ("{s}.b", "x", [("Nats-Expected-Last-Msg-Id", "zz")]),
        ("{s}.b", "x", [("Nats-Expected-Last-Subject-Sequence", "1")]),
        ("{s}.b", "x", [("Nats-Rollup", "sub")]),
        ("{s}.c", "with header", [("K", "V")]),
        ("$JS.API.STREAM.INFO.{S}", "", null),
        ("$JS.API.STREAM.INFO.{S}", "{\"subjects_filter\":\"{s}.>\"}", null),
        ("$JS.API.STREAM.INFO.{S}", "{\"subjects_filter\":\"{s}.nothing.here\"}", null),
        ("$JS.API.STREAM.NAMES", "{\"subject\":\"{s}.>\"}", null),
        ("$JS.API.STREAM.LIST", "{\"subject\":\"{s}.>\"}", null),
        ("$JS.API.STREAM.NAMES", "{\"subject\":\"{s}.>\",\"offset\":1}", null),
        ("$JS.API.STREAM.NAMES", "{bad", null),
        ("$JS.API.STREAM.LIST", "{\"subject\":\"{s}.>\",\"offset\":1}", null),
        ("$JS.API.STREAM.LIST", "{bad", null),
        ("$JS.API.STREAM.NAMES", "{\"subject\":\"nomatch.{s}\"}", null),
        ("$JS.API.STREAM.MSG.GET.{S}", "{\"seq\":1}", null),
        ("$JS.API.STREAM.MSG.GET.{S}", "{\"seq\":99}", null),
        ("$JS.API.STREAM.MSG.GET.{S}", "{}", null),
        ("$JS.API.STREAM.MSG.GET.{S}", "{\"last_by_subj\":\"{s}.b\"}", null),
        ("$JS.API.STREAM.MSG.GET.{S}", "{\"seq\":1,\"next_by_subj\":\"{s}.c\"}", null),
        ("$JS.API.STREAM.MSG.GET.{S}", "{\"seq\":1,\"last_by_subj\":\"{s}.b\"}", null),
        ("$JS.API.STREAM.MSG.GET.{S}", "{\"last_by_subj\":\"{s}.b\",\"next_by_subj\":\"{s}.c\"}", null),
        ("$JS.API.STREAM.MSG.DELETE.{S}", "{\"seq\":1}", null),
        ("$JS.API.STREAM.MSG.DELETE.{S}", "{\"seq\":1}", null),
        ("{s}.d", "y", null),
        ("$JS.API.STREAM.MSG.DELETE.{S}", "{\"seq\":3}", null),
        ("$JS.API.STREAM.MSG.DELETE.{S}", "{\"seq\":3}", null),
        ("$JS.API.STREAM.MSG.DELETE.{S}", "{\"seq\":99}", null),
        ("$JS.API.STREAM.MSG.DELETE.{S}", "{\"seq\":0}", null),
        ("$JS.API.STREAM.CREATE.{S}M", "{\"name\":\"{S}M\",\"storage\":\"memory\"}", null),
        ("{S}M", "a", null),
        ("{S}M", "b", null),
        ("$JS.API.STREAM.MSG.DELETE.{S}M", "{\"seq\":1}", null),
        ("$JS.API.STREAM.MSG.DELETE.{S}M", "{\"seq\":1}", null),
        ("$JS.API.STREAM.MSG.DELETE.{S}M", "{\"seq\":9}", null),
        ("$JS.API.STREAM.INFO.{S}", "{\"deleted_details\":true}", null),
        ("$JS.API.STREAM.PURGE.{S}", "{\"filter\":\"{s}.c\"}", null),
        ("$JS.API.STREAM.PURGE.{S}", "", null),
        ("$JS.API.STREAM.INFO.{S}", "", null),
        ("$JS.API.STREAM.CREATE.{S}D", "{\"name\":\"{S}D\",\"deny_purge\":true,\"deny_delete\":true,\"max_msgs\":1,\"discard\":\"new\",\"max_msg_size\":5}", null),
        ("{S}D", "a", null),
        ("{S}D", "b", null),
        ("{S}D", "toolongpayload", null),
        ("$JS.API.STREAM.PURGE.{S}D", "", null),
        ("$JS.API.STREAM.MSG.DELETE.{S}D", "{\"seq\":1}", null),
        ("$JS.API.STREAM.UPDATE.{S}D", "{\"name\":\"{S}D\",\"storage\":\"memory\",\"deny_purge\":true,\"deny_delete\":true,\"max_msgs\":1,\"discard\":\"new\",\"max_msg_size\":5}", null),
        ("$JS.API.STREAM.UPDATE.{S}D", "{\"name\":\"{S}D\",\"deny_purge\":true,\"max_msgs\":1,\"discard\":\"new\",\"max_msg_size\":5}", null),
        ("$JS.API.STREAM.UPDATE.{S}D", "{\"name\":\"{S}D\",\"deny_delete\":true,\"max_msgs\":1,\"discard\":\"new\",\"max_msg_size\":5}", null),
        ("$JS.API.STREAM.UPDATE.{S}D", "{\"name\":\"{S}D\",\"deny_purge\":true,\"deny_delete\":true,\"max_msgs\":1,\"discard\":\"new\",\"max_msg_size\":5,\"max_consumers\":3}", null),
        ("$JS.API.STREAM.UPDATE.{S}D", "{\"name\":\"{S}D\",\"sealed\":true,\"deny_purge\":true,\"deny_delete\":true,\"max_msgs\":1,\"discard\":\"new\",\"max_msg_size\":5}", null),
        ("{S}D", "x", null),
        ("$JS.API.STREAM.UPDATE.{S}NOPE", "{\"name\":\"{S}NOPE\"}", null),
        ("$JS.API.STREAM.CREATE.{S}B", "{\"name\":\"{S}B\",\"max_bytes\":10,\"discard\":\"new\"}", null),
        ("{S}B", "abcdefghijklmnop", null),
        ("$JS.API.STREAM.CREATE.{S}P", "{\"name\":\"{S}P\",\"max_msgs_per_subject\":1,\"discard\":\"new\",\"discard_new_per_subject\":true}", null),
        ("{S}P", "a", null),
        ("{S}P", "b", null),
        ("$JS.API.STREAM.CREATE.{S}O", "{\"name\":\"{S}O\",\"max_msgs\":2}", null),
        ("{S}O", "1", null),
        ("{S}O", "2", null),
        ("{S}O", "3", null),
        ("$JS.API.STREAM.INFO.{S}O", "", null),
        ("$JS.API.STREAM.DELETE.{S}", "", null),
        ("$JS.API.STREAM.DELETE.{S}", "", null),
        ("$JS.API.STREAM.INFO.{S}", "", null),
    ];

    [SkippableFact]
    public async Task Stream_api_answers_match_nats_server()
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        var name = "DIFF" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
        var expected = await ApiScript.RunAsync(servers.Reference!.Url, name, Script);
        var actual = await ApiScript.RunAsync(servers.Silo.Url, name, Script);
        ApiScript.AssertSameAnswers(expected, actual, i => $"{Script[i].Subject} {Script[i].Body}", Ignored);
    }
}
