using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Core;

/// <summary>
/// Malformed ops, CONNECT JSON that Go decodes differently from a strict parser, and the control line limit at its
/// boundary: the same bytes to the silo and to nats-server 2.9.10 must get the same bytes back.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class ProtocolEdgeDifferentialTests(ServersFixture servers)
{
    private const string C = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n";
    private const int Limit = 4096;

    public static TheoryData<string, string> Scripts => new()
    {
        { "pedantic subject error comes before a payload error", "CONNECT {\"verbose\":false,\"pedantic\":true}\r\nPUB a. 1\r\nPUB b 1\r\nx\r\nPING\r\n" },
        { "an LF right after the blanks starts the arguments", C + "SUB x 1\r\nPUB \nx 1\r\na\r\nPUB \noo 5\r\nhelo 5\r\nPING\r\n" },
        { "a repeated sid is not checked again", "CONNECT {\"verbose\":true}\r\nSUB x 6\r\nSUB >.y 6\r\nSUB a..b 6\r\nPING\r\n" },
        { "ops before CONNECT are verbose and pedantic", "SUB foo 1\r\nPUB foo 1\r\na\r\nPUB foo..x 0\r\n\r\nSUB a..b 2\r\nPING\r\n" },
        { "PUB without arguments", C + "PUB\r\nPING\r\n" },
        { "SUB without arguments", C + "SUB\r\nPING\r\n" },
        { "HPUB without arguments", C + "HPUB\r\nPING\r\n" },
        { "UNSUB with a blank only", C + "UNSUB \r\nPING\r\n" },
        { "PUB with a blank only", C + "PUB \r\nPING\r\n" },
        { "-ERR without a blank", C + "-ERR\r\nPING\r\n" },
        { "-ERR from the client closes", C + "-ERR 'x'\r\nPING\r\n" },
        { "+OK is a prefix", C + "+OKX\r\nPING\r\n" },
        { "wrong op name without a line end", C + "PUX" },
        { "INFO without JSON closes", C + "INFO\r\nPING\r\n" },
        { "INFO with an array closes", C + "INFO []\r\nPING\r\n" },
        { "INFO null is ignored", C + "INFO null\r\nPING\r\n" },
        { "INFO field of the wrong type closes", C + "INFO {\"port\":\"x\"}\r\nPING\r\n" },
        { "INFO keys are case-insensitive", C + "INFO {\"PORT\":1.5}\r\nPING\r\n" },
        { "INFO int32 out of range closes", C + "INFO {\"max_payload\":2147483648}\r\nPING\r\n" },
        { "INFO unsigned negative closes", C + "INFO {\"client_id\":-1}\r\nPING\r\n" },
        { "INFO bytes as base64 or numbers", C + "INFO {\"gateway_cmd_payload\":\"YQ==\",\"connect_urls\":[null,\"a\"],\"port\":-1}\r\nINFO {\"gateway_cmd_payload\":[1,2]}\r\nPING\r\n" },
        { "INFO bad base64 closes", C + "INFO {\"gateway_cmd_payload\":\"YQ\"}\r\nPING\r\n" },
        { "INFO unknown field is skipped", C + "INFO {\"xkey\":{},\"zzz\":[1,{}]}\r\nPING\r\n" },
        { "client HMSG is an empty message", C + "HMSG foo 1 1\r\n\r\nPING\r\n" },
        { "client HMSG is acknowledged", "CONNECT {}\r\nHMSG foo 1 1\r\n\r\nPING\r\n" },
        { "SUB splits on CR", C + "SUB foo\rbar 1\r\nPUB foo 1\r\na\r\nPING\r\n" },
        { "a CR inside PUB arguments drops the last byte", C + "SUB foo 1\r\nPUB foo 1\r 10\na\r\nPING\r\n" },
        { "pedantic PUB subject with a CR", "CONNECT {\"verbose\":true,\"pedantic\":true}\r\nPUB foo\rbar 1\r\na\r\nPUB a\r.b 1\r\nb\r\nPING\r\n" },
        { "CONNECT without a blank", "CONNECT{\"verbose\":false}\r\nPING\r\n" },
        { "CONNECT with invalid UTF-8 in a string", "CONNECT {\"verbose\":false,\"name\":\"\u00ff\u00fe\"}\r\nPING\r\n" },
        { "CONNECT with invalid UTF-8 in a key", "CONNECT {\"verbose\":false,\"\u00ff\":1}\r\nPING\r\n" },
        { "CONNECT with invalid UTF-8 after the JSON", "CONNECT {\"verbose\":false}\u00ff\r\nPING\r\n" },
        { "CONNECT with a lone surrogate escape", "CONNECT {\"verbose\":false,\"name\":\"\\ud800\"}\r\nPING\r\n" },
        { "CONNECT nested 100 deep", "CONNECT {\"verbose\":false,\"x\":" + new string('[', 100) + new string(']', 100) + "}\r\nPING\r\n" },
        { "CONNECT nested 1500 deep", "CONNECT {\"verbose\":false,\"x\":" + new string('[', 1500) + new string(']', 1500) + "}\r\nPING\r\n" },
        { "CONNECT null", "CONNECT null\r\nPING\r\n" },
        { "CONNECT with an array", "CONNECT []\r\nPING\r\n" },
        { "CONNECT with trailing bytes", "CONNECT {\"verbose\":false} x\r\nPING\r\n" },
        { "CONNECT null fields keep defaults", "CONNECT {\"verbose\":null,\"echo\":null,\"protocol\":null,\"name\":null}\r\nPING\r\n" },
        { "CONNECT keys are case-insensitive", "CONNECT {\"verbose\":false,\"VERBOSE\":true}\r\nPING\r\n" },
        { "CONNECT key with a long s", "CONNECT {\"verbose\":false,\"pa\u00c5\u00bf\u00c5\u00bf\":5}\r\nPING\r\n" },
        { "CONNECT field of the wrong type", "CONNECT {\"verbose\":false,\"tls_required\":\"x\"}\r\nPING\r\n" },
        { "CONNECT fractional protocol", "CONNECT {\"verbose\":false,\"protocol\":1.0}\r\nPING\r\n" },
        { "CONNECT protocol 2", "CONNECT {\"verbose\":false,\"protocol\":2}\r\nPING\r\n" },
        { "CONNECT protocol -1", "CONNECT {\"verbose\":false,\"protocol\":-1}\r\nPING\r\n" },
        { "CONNECT no_responders without headers", "CONNECT {\"verbose\":false,\"no_responders\":true}\r\nPING\r\n" },
        { "CONNECT with an account", "CONNECT {\"verbose\":false,\"account\":\"x\",\"protocol\":2}\r\nPING\r\n" },
        { "CONNECT with a malformed import", "CONNECT {\"verbose\":false,\"import\":{\"allow\":\"a\"}}\r\nPING\r\n" },
        { "second CONNECT updates the first", "CONNECT {\"verbose\":false}\r\nCONNECT {}\r\nPING\r\n" },
        { "second CONNECT is checked too", "CONNECT {\"verbose\":false}\r\nCONNECT {\"protocol\":5}\r\nPING\r\n" },
    };

    [SkippableTheory]
    [MemberData(nameof(Scripts))]
    public async Task Same_answer_as_nats_server(string name, string script)
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        await AssertSameAsync(name, [script]);
    }

    /// <summary>A pedantic client's invalid publish subject is reported when the PUB line arrives, before its payload.</summary>
    [SkippableFact]
    public async Task Invalid_publish_subject_is_reported_before_the_payload_arrives()
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        await AssertSameAsync("payload split off", ["CONNECT {\"verbose\":false,\"pedantic\":true}\r\nPUB a..b 5\r\nhe", "llo\r\nPING\r\n"]);
        await AssertSameAsync("payload never comes", ["CONNECT {\"verbose\":false,\"pedantic\":true}\r\nPUB a..b 5\r\nhe"]);
    }

    /// <summary>
    /// The limit bounds the arguments: what follows the op name and its blanks, without the CR. Each case is sent
    /// whole, and again with the line cut before its CR LF so both servers check a line that has not ended yet.
    /// </summary>
    [SkippableTheory]
    [InlineData("SUB", -1)]
    [InlineData("SUB", 0)]
    [InlineData("SUB", 1)]
    [InlineData("PUB", -1)]
    [InlineData("PUB", 0)]
    [InlineData("PUB", 1)]
    [InlineData("CONNECT", -1)]
    [InlineData("CONNECT", 0)]
    [InlineData("CONNECT", 1)]
    public async Task Control_line_limit_matches_at_the_boundary(string op, int overLimit)
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        int length = Limit + overLimit;
        string line = op switch
        {
            "SUB" => "SUB " + new string('s', length - 2) + " 1",
            "PUB" => "PUB " + new string('p', length - 2) + " 0",
            _ => "CONNECT {\"verbose\":false,\"name\":\"" + new string('n', length - 27) + "\"}",
        };
        string connect = op == "CONNECT" ? "" : C;
        string after = op == "PUB" ? "\r\n\r\nPING\r\n" : "\r\nPING\r\n";
        await AssertSameAsync($"{op} at limit{overLimit:+0;-0;+0}", [connect + line + after]);
        await AssertSameAsync($"{op} at limit{overLimit:+0;-0;+0}, split", [connect + line, after]);
    }

    private async Task AssertSameAsync(string name, string[] parts)
    {
        var expected = await RawClient.ExchangeAsync(servers.Reference!.Port, parts);
        var actual = await RawClient.ExchangeAsync(servers.Silo.Port, parts);
        Assert.True(expected.Answer == actual.Answer,
            $"{name}\nexpected: {CoreProtocolDifferentialTests.Show(expected.Answer)}\nactual:   {CoreProtocolDifferentialTests.Show(actual.Answer)}");
    }
}
