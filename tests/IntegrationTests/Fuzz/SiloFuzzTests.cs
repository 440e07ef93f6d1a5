using System.Net.Sockets;
using System.Text;
using CsCheck;
using NATS.Client.Core;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.Fuzz;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Fuzz;

/// <summary>
/// Fuzzes a running silo: random and mutated JSON bodies to every $JS.API subject, and random protocol bytes on raw
/// connections. After each case the silo must still answer PING on a separate connection and a known stream must
/// still ack a publish. Protocol streams whose answers are deterministic are also sent to nats-server 2.9.10, which
/// must answer them byte for byte the same. Bounded to a few seconds each; FUZZ_SECONDS runs them longer (README).
/// </summary>
public sealed class SiloFuzzTests : IAsyncLifetime
{
    private const string KnownStream = "KNOWN";
    private const string KnownSubject = "fuzz.known";
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AliveTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Every API the silo serves, with {s} and {c} for a stream and a consumer name (never the known stream).</summary>
    private static readonly string[] ApiSubjects =
    [
        "INFO", "STREAM.CREATE.{s}", "STREAM.UPDATE.{s}", "STREAM.INFO.{s}", "STREAM.DELETE.{s}", "STREAM.NAMES",
        "STREAM.LIST", "STREAM.PURGE.{s}", "STREAM.MSG.GET.{s}", "STREAM.MSG.DELETE.{s}", "DIRECT.GET.{s}",
        "DIRECT.GET.{s}.fz1.a", "CONSUMER.CREATE.{s}", "CONSUMER.CREATE.{s}.{c}", "CONSUMER.CREATE.{s}.{c}.fz1.a",
        "CONSUMER.DURABLE.CREATE.{s}.{c}", "CONSUMER.INFO.{s}.{c}", "CONSUMER.DELETE.{s}.{c}", "CONSUMER.NAMES.{s}",
        "CONSUMER.LIST.{s}", "CONSUMER.MSG.NEXT.{s}.{c}", "STREAM.CREATE", "CONSUMER.CREATE.{s}.{c}.>", "CONSUMER.UNPIN.{s}.{c}",
    ];

    private static readonly Gen<string> StreamName = Gen.OneOf("FZ1", "FZ2", "FZ1", "日本", "*", ">", "", "a.b", new string('S', 300));
    private static readonly Gen<string> ConsumerName = Gen.OneOf("C1", "P1", "C1", "*", "日本", "");

    private static readonly Gen<string> ApiSubject = Gen.Select(Gen.OneOf(ApiSubjects), StreamName, ConsumerName,
        (template, stream, consumer) => "$JS.API." + template.Replace("{s}", stream).Replace("{c}", consumer));

    private SiloProcess _silo = null!;

    public async Task InitializeAsync()
    {
        _silo = await SiloProcess.StartAsync(jetStream: true);
        await using var nats = new NatsConnection(new NatsOpts { Url = _silo.Url });
        await nats.CreateJetStreamContext().CreateStreamAsync(new StreamConfig(KnownStream, [KnownSubject]));
    }

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    [Fact]
    public async Task Json_api_bodies_leave_the_silo_serving()
    {
        foreach (var body in FuzzCorpus.JsonApi)
        {
            foreach (var subject in new[] { "$JS.API.STREAM.CREATE.FZ1", "$JS.API.CONSUMER.CREATE.FZ1.C1", "$JS.API.STREAM.MSG.GET.FZ1", "$JS.API.STREAM.PURGE.FZ1" })
                await ApiCaseAsync(subject, body);
        }
        await Gen.Select(ApiSubject, JsonGen.Body).SampleAsync(ApiCaseAsync, seed: FuzzBudget.Seed, time: FuzzBudget.Seconds(8), threads: 2);
    }

    [Fact]
    public async Task Raw_protocol_streams_leave_the_silo_serving()
    {
        foreach (var wire in FuzzCorpus.Protocol)
            await ProtocolCaseAsync(wire);
        await ProtocolGen.Stream.SampleAsync(ProtocolCaseAsync, seed: FuzzBudget.Seed, time: FuzzBudget.Seconds(6), threads: 2);
    }

    [SkippableFact]
    public async Task Raw_protocol_streams_get_the_answers_nats_server_gives()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        await using var reference = await NatsServerProcess.StartAsync();
        foreach (var wire in FuzzCorpus.ProtocolDifferential)
            await CompareAsync(wire);
        await ProtocolGen.ComparableStream.SampleAsync(CompareAsync, seed: FuzzBudget.Seed, time: FuzzBudget.Seconds(6), threads: 1);

        async Task CompareAsync(byte[] wire)
        {
            byte[] script = [.. wire, .. "SUB zz.end 999\r\nPUB zz.end 3\r\nend\r\nPING\r\n"u8];
            var (expected, actual) = await BothAsync(script, TimeSpan.FromMilliseconds(500));
            // Half a second is plenty on a quiet machine, but a loaded one once left the silo's answer to a closing
            // error unread (fuzz seed 9UhaF5jOQTg3 in CI; 40 replays of the case all answered in 0.15 s): an answer
            // cut short by the clock is asked again with time to spare before it counts as a difference.
            if (Differs(expected, actual) && (expected.TimedOut || actual.TimedOut))
                (expected, actual) = await BothAsync(script, TimeSpan.FromSeconds(5));
            if (Differs(expected, actual))
                Assert.Fail($"{Describe(wire)}, saved as {Save(wire)}\nnats-server: {Show(expected.Answer)}{(expected.Reset ? " (reset)" : "")}" +
                            $"\nsilo:        {Show(actual.Answer)}{(actual.Reset ? " (reset)" : "")}");
        }

        async Task<(Exchange Expected, Exchange Actual)> BothAsync(byte[] script, TimeSpan timeout)
        {
            // A sentinel at the end (a message to ourselves, then PONG) ends both exchanges once everything before it
            // was answered: scripts hold PINGs of their own, so the first PONG proves nothing. One case at a time, or
            // a wildcard subscription of one case would see the other's messages.
            const string sentinel = "zz.end 999 3\r\nend\r\nPONG\r\n";
            var expected = await ExchangeAsync(reference.Port, script, sentinel, timeout);
            var actual = await ExchangeAsync(_silo.Port, script, sentinel, timeout);
            expected.Answer = OnePublishSubjectError(expected.Answer);
            actual.Answer = OnePublishSubjectError(actual.Answer);
            if (MayJoinQueueGroup(script))
            {
                expected.Answer = AnySid(expected.Answer);
                actual.Answer = AnySid(actual.Answer);
            }
            if (script.Length > NatsServerFirstRead)
            {
                expected.Answer = NoCarriageReturnInMessageLines(expected.Answer);
                actual.Answer = NoCarriageReturnInMessageLines(actual.Answer);
            }
            return (expected, actual);
        }

        // A server that closes on an error while input is still unread sends a reset, and the kernel drops what it
        // had sent and the client had not yet read: a reset answer may be cut short, never longer.
        static bool Differs(Exchange expected, Exchange actual)
            => expected.Answer != actual.Answer
               && !(expected.Reset && actual.Answer.StartsWith(expected.Answer, StringComparison.Ordinal))
               && !(actual.Reset && expected.Answer.StartsWith(actual.Answer, StringComparison.Ordinal));
    }

    /// <summary>nats-server 2.9.10 reads a new client's bytes 512 at a time at first.</summary>
    private const int NatsServerFirstRead = 512;

    /// <summary>
    /// Drops '\r' inside MSG and HMSG lines. nats-server keeps a PUB's arguments whole, '\r' and all ("PUB foo x\ry 1"
    /// delivers reply "x\ry", as the corpus checks), except when the line crosses the end of a read: then it copies the
    /// arguments byte by byte and skips each '\r', and delivers reply "xy" (fuzz seed 9UhaF5jOQTg3, a 648-byte case
    /// with that PUB at byte 507). Where reads end depends on the kernel, so only long scripts get this allowance.
    /// </summary>
    private static string NoCarriageReturnInMessageLines(string answer)
        => System.Text.RegularExpressions.Regex.Replace(answer, "(?m)^H?MSG [^\n]*\r\n",
            line => line.Value[..^2].Replace("\r", "", StringComparison.Ordinal) + "\r\n");

    /// <summary>
    /// Repeats of "Invalid Publish Subject" in a row count as one. nats-server 2.9.10 sends it again for the same PUB
    /// when the payload crosses the end of its read buffer (512 bytes at first): it parses the arguments a second time
    /// to keep them, pedantic check included. Which PUB that hits depends on how the kernel splits the stream (seen:
    /// a 647-byte case, fuzz finding 3996D7C397FF5B43, with 3 errors in one write and 2 with PINGs between commands).
    /// </summary>
    private static string OnePublishSubjectError(string answer)
    {
        const string Error = "-ERR 'Invalid Publish Subject'\r\n";
        while (answer.Contains(Error + Error, StringComparison.Ordinal))
            answer = answer.Replace(Error + Error, Error, StringComparison.Ordinal);
        return answer;
    }

    /// <summary>
    /// Whether a SUB line of the script may carry a queue group. The generator writes none, but mutations splice
    /// pieces, and nats-server splits SUB arguments at '\r' and tabs as well as spaces (fuzz seed 97Caywi7w193:
    /// "SUB foo\rbar 1e..." joined group bar). Both servers then pick the member at random.
    /// </summary>
    private static bool MayJoinQueueGroup(byte[] script)
    {
        foreach (var line in Encoding.Latin1.GetString(script).Split('\n'))
        {
            if (line.Length > 4 && line.StartsWith("sub", StringComparison.OrdinalIgnoreCase) && line[3] is ' ' or '\t'
                && line[4..].Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries).Length >= 3)
                return true;
        }
        return false;
    }

    /// <summary>Blanks the subscription id of every MSG and HMSG line: which member of a queue group gets it is random.</summary>
    private static string AnySid(string answer)
        => System.Text.RegularExpressions.Regex.Replace(answer, @"(?m)^(H?MSG [^ \r\n]+ )[^ \r\n]+ ", "$1* ");

    private async Task ApiCaseAsync(string subject, byte[] body)
    {
        var script = new List<byte>();
        script.AddRange("CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true}\r\nSUB r 1\r\n"u8);
        script.AddRange(Encoding.UTF8.GetBytes($"PUB {subject} r {body.Length}\r\n"));
        script.AddRange(body);
        script.AddRange("\r\n"u8);
        // Any answer is fine (a config, an error, a 503), and so is none: nats-server too is silent on subjects under
        // $JS.API that no API serves. What matters is the silo afterwards.
        await ExchangeAsync(_silo.Port, [.. script], "MSG r 1 ", AnswerTimeout);
        await AssertAliveAsync($"after {subject}", body);
    }

    private async Task ProtocolCaseAsync(byte[] wire)
    {
        await ExchangeAsync(_silo.Port, wire, null, TimeSpan.FromMilliseconds(100));
        await AssertAliveAsync("after a protocol stream", wire);
    }

    private async Task AssertAliveAsync(string context, byte[] input)
    {
        var (pong, _, _, _) = await ExchangeAsync(_silo.Port, "CONNECT {\"verbose\":false}\r\nPING\r\n"u8.ToArray(), "PONG\r\n", AliveTimeout);
        if (!pong)
            Assert.Fail($"the silo did not answer PING {context} {Describe(input)}, saved as {Save(input)}");
        var publish = Encoding.ASCII.GetBytes("CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\nSUB r 1\r\n" +
                                              $"PUB {KnownSubject} r 2\r\nok\r\n");
        var (acked, answer, _, _) = await ExchangeAsync(_silo.Port, publish, $"{{\"stream\":\"{KnownStream}\", \"seq\":", AliveTimeout);
        if (!acked)
            Assert.Fail($"the known stream did not ack a publish {context} {Describe(input)}, saved as {Save(input)}: {answer}");
    }

    /// <summary>
    /// Sends bytes on a new connection and reads until <paramref name="until"/> appears (true), the server closes,
    /// or <paramref name="timeout"/> passes (with no <paramref name="until"/>: until that much quiet).
    /// </summary>
    private record struct Exchange(bool Seen, string Answer, bool Reset, bool TimedOut);

    private static async Task<Exchange> ExchangeAsync(int port, byte[] bytes, string? until, TimeSpan timeout)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var stream = tcp.GetStream();
        var received = new StringBuilder();
        var buffer = new byte[16 * 1024];
        using var deadline = new CancellationTokenSource(timeout);
        // The INFO line differs between servers (ids, ports): it is not part of the answer.
        bool infoSkipped = false;
        try
        {
            await stream.WriteAsync(bytes, deadline.Token);
            while (true)
            {
                using var quiet = until is null ? CancellationTokenSource.CreateLinkedTokenSource(deadline.Token) : null;
                quiet?.CancelAfter(timeout);
                int n = await stream.ReadAsync(buffer, quiet?.Token ?? deadline.Token);
                if (n == 0)
                    break;
                received.Append(Encoding.Latin1.GetString(buffer, 0, n));
                if (!infoSkipped && received.ToString().IndexOf("\r\n", StringComparison.Ordinal) is var eol and >= 0)
                {
                    received.Remove(0, eol + 2);
                    infoSkipped = true;
                }
                if (until is not null && received.ToString().Contains(until, StringComparison.Ordinal))
                    return new Exchange(true, received.ToString(), false, false);
            }
        }
        catch (OperationCanceledException)
        {
            return new Exchange(false, received.ToString(), false, until is not null);
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            // Reset, broken pipe or aborted: an abortive close, after which the kernel may have dropped what the
            // server had sent and this side had not read yet.
            return new Exchange(false, received.ToString(), true, false);
        }
        return new Exchange(false, received.ToString(), false, false);
    }

    /// <summary>Keeps a failing input whole (messages cut it short), to add to the corpus once fixed.</summary>
    private static string Save(byte[] bytes)
    {
        var folder = Path.Combine(Path.GetTempPath(), "fuzz-findings");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))[..16]);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string Show(string answer) => answer.Length > 300 ? answer[..300] + "..." : answer.Replace("\r", "\\r").Replace("\n", "\\n");

    private static string Describe(byte[] bytes)
    {
        var text = Encoding.Latin1.GetString(bytes, 0, Math.Min(bytes.Length, 300)).Replace("\r", "\\r").Replace("\n", "\\n");
        return $"({bytes.Length} bytes) \"{text}{(bytes.Length > 300 ? "..." : "")}\"";
    }
}
