using System.Text;
using Platform.Gateway.Protocol;

namespace Platform.UnitTests.Protocol;

/// <summary>Where reads split the stream must not change what is parsed.</summary>
public class NatsParserSplitTests
{
    private const string Headers = "NATS/1.0\r\nA: 1\r\n\r\n";

    private static readonly byte[] Script = Encoding.ASCII.GetBytes(
        "CONNECT {\"verbose\":false,\"headers\":true}\r\n" +
        "SUB foo.* q 1\r\n" +
        "PUB foo.bar _INBOX.x 5\r\nhello\r\n" +
        $"HPUB foo.bar {Headers.Length} {Headers.Length + 2}\r\n{Headers}hi\r\n" +
        "UNSUB 1 3\r\n" +
        "PING\r\n" +
        "PUB foo.empty 0\r\n\r\n" +
        "PUB foo.crlf 6\r\na\r\nb\r\n\r\n" +
        "PONG\r\n");

    private static readonly ParsedOp[] ScriptOps =
    [
        new(ClientOpKind.Connect, Payload: "{\"verbose\":false,\"headers\":true}"),
        new(ClientOpKind.Sub, "foo.*", Queue: "q", Sid: "1"),
        new(ClientOpKind.Pub, "foo.bar", "_INBOX.x", Payload: "hello"),
        new(ClientOpKind.HPub, "foo.bar", HeaderLength: Headers.Length, Payload: Headers + "hi"),
        new(ClientOpKind.Unsub, Sid: "1", Max: 3),
        new(ClientOpKind.Ping),
        new(ClientOpKind.Pub, "foo.empty"),
        new(ClientOpKind.Pub, "foo.crlf", Payload: "a\r\nb\r\n"),
        new(ClientOpKind.Pong),
    ];

    [Fact]
    public void Script_parses_whole()
    {
        var run = ParserDriver.Run([Script]);
        Assert.Equal(ScriptOps, run.Ops);
        Assert.Equal(ParseStatus.Op, run.Status);
    }

    [Fact]
    public void Every_split_into_two_reads_parses_the_same()
    {
        for (int k = 0; k <= Script.Length; k++)
            AssertScript(ParserDriver.Run(ParserDriver.Split(Script, k)), $"split at {k}");
    }

    [Fact]
    public void Every_split_into_three_reads_parses_the_same()
    {
        // Every pair is about 19k runs of a 196-byte script, a quarter of a second: cheap enough not to sample.
        for (int i = 1; i < Script.Length; i++)
        {
            for (int j = i; j < Script.Length; j++)
                AssertScript(ParserDriver.Run(ParserDriver.Split(Script, i, j)), $"splits at {i} and {j}");
        }
    }

    [Fact]
    public void One_byte_reads_parse_the_same()
        => AssertScript(ParserDriver.Run(Script.Select(b => new[] { b })), "1-byte reads");

    private static void AssertScript(ParseRun run, string what)
    {
        if (run.Status != ParseStatus.Op || !run.Ops.SequenceEqual(ScriptOps))
            Assert.Fail($"{what}: status {run.Status} error '{run.Error}', {run.Ops.Count} ops: {string.Join(" | ", run.Ops)}");
    }

    [Fact]
    public void Random_op_sequences_in_random_reads_parse_to_what_was_sent()
    {
        int seed = TestSeed.Get(20261126);
        var master = new Random(seed);
        for (int iteration = 0; iteration < 200; iteration++)
        {
            int caseSeed = master.Next();
            var rng = new Random(caseSeed);
            var (wire, expected) = OpGenerator.Generate(rng);
            var chunks = OpGenerator.Chunk(rng, wire, iteration);
            var run = ParserDriver.Run(chunks);
            if (run.Status == ParseStatus.Op && run.Ops.SequenceEqual(expected))
                continue;
            int firstDiff = Enumerable.Range(0, Math.Min(run.Ops.Count, expected.Count)).FirstOrDefault(i => run.Ops[i] != expected[i], Math.Min(run.Ops.Count, expected.Count));
            Assert.Fail(
                $"seed {seed} (UNITTEST_SEED), iteration {iteration}, case seed {caseSeed}: {wire.Length} bytes in {chunks.Count} reads; " +
                $"status {run.Status} error '{run.Error}'; {run.Ops.Count} ops parsed of {expected.Count}; first difference at op {firstDiff}: " +
                $"expected {(firstDiff < expected.Count ? expected[firstDiff] : "none")}, got {(firstDiff < run.Ops.Count ? run.Ops[firstDiff] : "none")}");
        }
    }
}

/// <summary>Random valid client ops, written with random op-name case and argument separators.</summary>
internal static class OpGenerator
{
    private static readonly string[] Separators = [" ", "\t", "  ", " \t ", "\t\t"];
    private const string TokenChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-$";

    public static (byte[] Wire, List<ParsedOp> Ops) Generate(Random rng)
    {
        var wire = new MemoryStream();
        var ops = new List<ParsedOp>();
        const string connect = "{\"verbose\":false,\"headers\":true}";
        Write(wire, Name(rng, "CONNECT") + " " + connect + "\r\n");
        ops.Add(new ParsedOp(ClientOpKind.Connect, Payload: connect));

        int count = rng.Next(1, 30);
        for (int i = 0; i < count; i++)
        {
            switch (rng.Next(6))
            {
                case 0:
                {
                    var subject = Subject(rng, wildcards: false);
                    var reply = rng.Next(2) == 0 ? "" : "_INBOX." + Token(rng);
                    var payload = Bytes(rng, rng.Next(0, 2001));
                    Write(wire, Line(rng, "PUB", subject, reply, payload.Length.ToString()));
                    wire.Write(payload);
                    Write(wire, "\r\n");
                    ops.Add(new ParsedOp(ClientOpKind.Pub, subject, reply, Payload: ParsedOp.Text(payload)));
                    break;
                }
                case 1:
                {
                    var subject = Subject(rng, wildcards: false);
                    var reply = rng.Next(2) == 0 ? "" : "_INBOX." + Token(rng);
                    var headers = new StringBuilder("NATS/1.0\r\n");
                    for (int h = rng.Next(0, 4); h > 0; h--)
                        headers.Append(Token(rng)).Append(": ").Append(Token(rng)).Append("\r\n");
                    headers.Append("\r\n");
                    var message = Encoding.ASCII.GetBytes(headers.ToString()).Concat(Bytes(rng, rng.Next(0, 2001))).ToArray();
                    Write(wire, Line(rng, "HPUB", subject, reply, headers.Length.ToString(), message.Length.ToString()));
                    wire.Write(message);
                    Write(wire, "\r\n");
                    ops.Add(new ParsedOp(ClientOpKind.HPub, subject, reply, HeaderLength: headers.Length, Payload: ParsedOp.Text(message)));
                    break;
                }
                case 2:
                {
                    var subject = Subject(rng, wildcards: true);
                    var queue = rng.Next(2) == 0 ? "" : Token(rng);
                    var sid = rng.Next(1, 100000).ToString();
                    Write(wire, Line(rng, "SUB", subject, queue, sid));
                    ops.Add(new ParsedOp(ClientOpKind.Sub, subject, Queue: queue, Sid: sid));
                    break;
                }
                case 3:
                {
                    var sid = Token(rng);
                    long max = rng.Next(2) == 0 ? 0 : rng.Next(1, 1_000_000);
                    Write(wire, Line(rng, "UNSUB", sid, max == 0 ? "" : max.ToString()));
                    ops.Add(new ParsedOp(ClientOpKind.Unsub, Sid: sid, Max: max));
                    break;
                }
                case 4:
                    Write(wire, Name(rng, "PING") + "\r\n");
                    ops.Add(new ParsedOp(ClientOpKind.Ping));
                    break;
                default:
                    Write(wire, Name(rng, "PONG") + "\r\n");
                    ops.Add(new ParsedOp(ClientOpKind.Pong));
                    break;
            }
        }
        return (wire.ToArray(), ops);
    }

    /// <summary>One read, 1-byte reads, or a random number of reads cut at random points.</summary>
    public static List<byte[]> Chunk(Random rng, byte[] wire, int iteration)
    {
        if (iteration % 10 == 0)
            return wire.Select(b => new[] { b }).ToList();
        if (iteration % 10 == 1)
            return [wire];
        int cuts = rng.Next(1, Math.Min(wire.Length, 64));
        var points = Enumerable.Range(0, cuts).Select(_ => rng.Next(1, wire.Length)).Distinct().Order().ToArray();
        return ParserDriver.Split(wire, points);
    }

    private static string Line(Random rng, string name, params string[] args)
    {
        var line = new StringBuilder(Name(rng, name));
        foreach (var arg in args)
        {
            if (arg.Length > 0)
                line.Append(Separators[rng.Next(Separators.Length)]).Append(arg);
        }
        if (rng.Next(4) == 0)
            line.Append(Separators[rng.Next(Separators.Length)]);
        return line.Append("\r\n").ToString();
    }

    private static string Name(Random rng, string name)
        => string.Concat(name.Select(c => rng.Next(2) == 0 ? char.ToLowerInvariant(c) : c));

    private static string Subject(Random rng, bool wildcards)
    {
        int tokens = rng.Next(1, 6);
        var parts = new string[tokens];
        for (int i = 0; i < tokens; i++)
        {
            int roll = wildcards ? rng.Next(8) : 7;
            parts[i] = roll == 0 ? "*" : roll == 1 && i == tokens - 1 ? ">" : Token(rng);
        }
        return string.Join('.', parts);
    }

    private static string Token(Random rng)
        => new(Enumerable.Range(0, rng.Next(1, 9)).Select(_ => TokenChars[rng.Next(TokenChars.Length)]).ToArray());

    private static byte[] Bytes(Random rng, int length)
    {
        var bytes = new byte[length];
        rng.NextBytes(bytes);
        return bytes;
    }

    private static void Write(MemoryStream stream, string text) => stream.Write(Encoding.ASCII.GetBytes(text));
}
