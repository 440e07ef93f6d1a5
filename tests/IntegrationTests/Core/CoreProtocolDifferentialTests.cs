using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Core;

/// <summary>
/// The same raw protocol scripts sent to the silo and to nats-server 2.9.10 must get the same bytes back
/// (the INFO line aside, whose ids differ).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class CoreProtocolDifferentialTests(ServersFixture servers)
{
    private const string C = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n";
    private const string CH = "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\n";

    public static TheoryData<string, string> Scripts => new()
    {
        { "ping before connect", "PING\r\n" },
        { "ops are case-insensitive", C + "sub foo 1\r\npub foo 1\r\na\r\nping\r\n" },
        { "verbose is the default", "CONNECT {}\r\nSUB foo 1\r\nPUB foo 1\r\na\r\nUNSUB 1\r\nPING\r\n" },
        { "bad CONNECT json closes silently", "CONNECT {bad\r\nPING\r\n" },
        { "unknown op", C + "FOO\r\n" },
        { "payload longer than the byte count", C + "PUB foo 2\r\nabc\r\nPING\r\n" },
        { "payload end without CR", C + "PUB foo 1\r\na\nPING\r\n" },
        { "empty token subject", C + "SUB foo..bar 1\r\nPING\r\n" },
        { "full wildcard not last", C + "SUB >.foo 1\r\nSUB foo.>.bar 2\r\nPING\r\n" },
        { "partial wildcard is literal", C + "SUB foo* 3\r\nPUB foo* 1\r\na\r\nPING\r\n" },
        { "unsubscribe with max", C + "SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\nPING\r\n" },
        { "unsubscribe unknown sid", C + "UNSUB 99\r\nPING\r\n" },
        { "unsubscribe without sid", C + "UNSUB\r\nPING\r\n" },
        { "unsubscribe with unparsable max", C + "SUB foo 1\r\nUNSUB 1 x\r\nPUB foo 1\r\na\r\nPING\r\n" },
        { "pedantic wildcard publish is still routed", "CONNECT {\"verbose\":false,\"pedantic\":true}\r\nSUB foo.* 1\r\nPUB foo.* 1\r\na\r\nPING\r\n" },
        { "publish without size", C + "PUB foo\r\n" },
        { "subscribe without sid", C + "SUB foo\r\n" },
        { "negative size", C + "PUB foo -1\r\n" },
        { "too many publish arguments", C + "PUB foo bar baz 1\r\na\r\nPING\r\n" },
        { "size with letters", C + "PUB foo 1x\r\na\r\nPING\r\n" },
        { "too many subscribe arguments", C + "SUB foo.* bar baz 1\r\nPING\r\n" },
        { "HPUB without headers in CONNECT", C + "HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n" },
        { "HPUB delivered as HMSG", CH + "SUB foo 1\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n" },
        { "HPUB with a key and a reply", CH + "SUB foo 1\r\nHPUB foo bar 22 24\r\nNATS/1.0\r\nK: V\r\n\r\nhi\r\nPING\r\n" },
        { "HPUB header longer than total", CH + "HPUB foo 20 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n" },
        { "payload over max_payload", C + "PUB foo 2000000\r\n" },
        { "control line over 4096", C + "SUB " + new string('a', 5000) + " 1\r\n" },
        { "no responders", "CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\nSUB r 1\r\nPUB nobody r 0\r\n\r\nPING\r\n" },
        { "no responders needs the flag", CH + "SUB r 1\r\nPUB nobody r 0\r\n\r\nPING\r\n" },
        { "plain subscribers before queue groups", C + "SUB foo q 1\r\nSUB foo 2\r\nPUB foo reply 1\r\na\r\nPING\r\n" },
        { "tabs separate arguments", C + "SUB\tfoo\t1\r\nPUB foo\t1\r\na\r\nPING\r\n" },
        { "empty payload", C + "SUB foo 1\r\nPUB foo 0\r\n\r\nPING\r\n" },
        { "duplicate sid keeps one subscription", C + "SUB foo 1\r\nSUB foo 1\r\nPUB foo 1\r\na\r\nPING\r\n" },
        { "wildcards", C + "SUB foo.* 1\r\nSUB foo.> 2\r\nSUB > 3\r\nPUB foo.bar 1\r\na\r\nPUB foo.bar.baz 1\r\nb\r\nPUB foo 1\r\nc\r\nPING\r\n" },
        { "echo off", "CONNECT {\"verbose\":false,\"echo\":false}\r\nSUB foo 1\r\nPUB foo 1\r\na\r\nPING\r\n" },
        { "ping with trailing bytes", "PINGX\r\n" },
        { "leading space", " PING\r\n" },
        { "client +OK is ignored", C + "+OK\r\nPING\r\n" },
        { "client INFO is ignored", C + "INFO {}\r\nPING\r\n" },
        { "client MSG is refused", C + "MSG foo 1 1\r\na\r\nPING\r\n" },
        { "unsubscribe stops delivery", C + "SUB foo 1\r\nUNSUB 1\r\nPUB foo 1\r\na\r\nPING\r\n" },
        { "verbose errors", "CONNECT {\"verbose\":true}\r\nSUB foo..bar 1\r\nPING\r\n" },
        { "many ops in one write", C + string.Concat(Enumerable.Range(0, 50).Select(i => $"SUB s.{i} {i}\r\nPUB s.{i} 2\r\n{i % 10}{i % 7}\r\n")) + "PING\r\n" },
        { "binary payload", C + "SUB foo 1\r\nPUB foo 4\r\n\u0000\r\n\u00ff\r\nPING\r\n" },
    };

    [SkippableTheory]
    [MemberData(nameof(Scripts))]
    public async Task Same_answer_as_nats_server(string name, string script)
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        var expected = await RawClient.ExchangeAsync(servers.Reference!.Port, script);
        var actual = await RawClient.ExchangeAsync(servers.Silo.Port, script);
        Assert.True(expected.Answer == actual.Answer,
            $"{name}\nscript:   {Show(script)}\nexpected: {Show(expected.Answer)}\nactual:   {Show(actual.Answer)}");
    }

    [Fact]
    public async Task Info_has_the_fields_clients_read()
    {
        var (info, _) = await RawClient.ExchangeAsync(servers.Silo.Port, "PING\r\n");
        Assert.StartsWith("INFO {", info);
        Assert.EndsWith("} \r\n", info);
        using var json = System.Text.Json.JsonDocument.Parse(info[5..^3]);
        var root = json.RootElement;
        foreach (var field in new[] { "server_id", "server_name", "version", "proto", "headers", "max_payload", "jetstream", "client_id", "client_ip", "host", "port" })
            Assert.True(root.TryGetProperty(field, out _), $"INFO lacks {field}: {info}");
        Assert.True(Version.Parse(root.GetProperty("version").GetString()!) >= new Version(2, 10, 0));
        Assert.Equal(1048576, root.GetProperty("max_payload").GetInt32());
        Assert.True(root.GetProperty("headers").GetBoolean());
        Assert.Equal(servers.Silo.Port, root.GetProperty("port").GetInt32());
    }

    internal static string Show(string s) => s.Length > 300 ? s[..300].Replace("\r", "\\r").Replace("\n", "\\n") + "..." : s.Replace("\r", "\\r").Replace("\n", "\\n");
}
