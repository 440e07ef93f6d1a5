using System.Text;
using CsCheck;

namespace Platform.Fuzz;

/// <summary>
/// Client protocol streams for fuzzing: valid ops with random case, separators, subjects (wildcards, empty tokens,
/// UTF-8) and payloads; corpus streams mutated; garbage; huge sizes; lines past the control line limit.
/// </summary>
internal static class ProtocolGen
{
    private static readonly Gen<string> Blank = Gen.OneOf(" ", "\t", "  ", " \t");

    private static readonly Gen<string> Token = Gen.Frequency(
        (8, Gen.Char["abcxyzABZ019_-$"].Array[1, 6].Select(chars => new string(chars))),
        (1, Gen.OneOf("*", ">", "", "日本", "секрет", "caf\u00e9", "$JS", "_INBOX")));

    public static readonly Gen<string> Subject = Token.Array[1, 5].Select(tokens => string.Join('.', tokens));

    private static readonly Gen<string> Size = Gen.Frequency(
        (6, Gen.Int[0, 64].Select(n => n.ToString())),
        (1, Gen.OneOf("999999999", "1048577", "-1", "1x", "", "0000000001", "4294967296")));

    private static Gen<string> Name(string name)
        => Gen.Bool.Array[name.Length].Select(lower => string.Concat(name.Select((c, i) => lower[i] ? char.ToLowerInvariant(c) : c)));

    private static readonly Gen<byte[]> Pub = Gen.Select(Name("PUB"), Blank, Subject, Gen.Bool, Subject, Gen.Byte.Array[0, 40],
        (op, blank, subject, withReply, reply, payload) =>
            Bytes($"{op}{blank}{subject}{(withReply ? " " + reply : "")} {payload.Length}\r\n", payload, "\r\n"));

    private static readonly Gen<byte[]> HPub = Gen.Select(Name("HPUB"), Subject, Gen.Byte.Array[0, 20], Gen.Bool,
        (op, subject, payload, valid) =>
        {
            const string headers = "NATS/1.0\r\nK: v\r\n\r\n";
            int headerLength = valid ? headers.Length : headers.Length + payload.Length + 5;
            return Bytes($"{op} {subject} {headerLength} {headers.Length + payload.Length}\r\n{headers}", payload, "\r\n");
        });

    private static Gen<byte[]> Sub(bool queues) => Gen.Select(Name("SUB"), Blank, Subject, Gen.Bool, Token, Gen.Int[1, 50],
        (op, blank, subject, queue, group, sid) => Bytes($"{op}{blank}{subject}{(queue && queues ? " q" + group : "")} {sid}\r\n"));

    private static readonly Gen<byte[]> Unsub = Gen.Select(Name("UNSUB"), Gen.Int[1, 50], Size,
        (op, sid, max) => Bytes($"{op} {sid} {max}\r\n"));

    private static readonly Gen<byte[]> Simple = Gen.OneOf(
        "PING\r\n", "PONG\r\n", "ping\r\n", "+OK\r\n", "INFO {}\r\n", "INFO null\r\n", "-ERR 'x'\r\n",
        "CONNECT {\"verbose\":false,\"pedantic\":true,\"headers\":true,\"no_responders\":true}\r\n",
        "CONNECT {\"verbose\":true}\r\n", "CONNECT {\"protocol\":1,\"echo\":false,\"headers\":true}\r\n",
        "PUB\r\n", "SUB\r\n", "UNSUB\r\n", "HMSG a 1 1\r\n\r\n").Select(Encoding.Latin1.GetBytes);

    private static readonly Gen<byte[]> Huge = Gen.OneOf(
        "PUB foo 999999999\r\n", "HPUB foo 999999999 999999999\r\n", "PUB foo 1048576\r\n", "HPUB foo 5 1048577\r\n",
        "SUB " + new string('s', 5000) + " 1\r\n", "PUB " + new string('p', 4094) + " 0\r\n\r\n",
        "CONNECT {\"x\":" + new string('[', 2000) + new string(']', 2000) + "}\r\n",
        "PING" + new string(' ', 5000) + "\r\n", "SUB" + new string(' ', 5000) + "a 1\r\n").Select(Encoding.Latin1.GetBytes);

    private static Gen<byte[]> Piece(bool comparable) => comparable
        ? Gen.Frequency(
            (6, Pub), (2, HPub), (4, Sub(queues: false)), (2, Unsub), (3, Simple),
            (3, Mutation.Of(Gen.OneOf(FuzzCorpus.Protocol.Where(Comparable).ToArray()))),
            (1, Gen.Byte.Array[1, 24]))
        : Gen.Frequency(
            (6, Pub), (2, HPub), (4, Sub(queues: true)), (2, Unsub), (3, Simple), (1, Huge),
            (3, Mutation.Of(Gen.OneOf(FuzzCorpus.Protocol))),
            (1, Gen.Byte.Array[1, 24]));

    /// <summary>A stream of pieces; most start with a CONNECT so that HPUB and the later ops get exercised.</summary>
    public static readonly Gen<byte[]> Stream = Streams(Piece(comparable: false));

    /// <summary>
    /// Streams whose answers are deterministic and where the silo means to answer as nats-server does: no queue groups
    /// (the member is picked at random) and no lines past the control line limit (the silo bounds blanks and ignored
    /// bytes that nats-server skips without buffering).
    /// Not pedantic either: nats-server reports an invalid publish subject once or twice depending on where its own reads
    /// end, which the silo cannot see.
    /// </summary>
    public static readonly Gen<byte[]> ComparableStream = Gen.Select(Gen.Bool, Piece(comparable: true).Array[1, 16], (verbose, pieces) =>
        Bytes($"CONNECT {{\"verbose\":{(verbose ? "true" : "false")},\"pedantic\":false,\"headers\":true}}\r\n").Concat(pieces.SelectMany(p => p)).ToArray());

    private static Gen<byte[]> Streams(Gen<byte[]> piece) => Gen.Select(Gen.Bool, piece.Array[1, 16], (connect, pieces) =>
        (connect ? Bytes("CONNECT {\"verbose\":false,\"headers\":true}\r\n") : []).Concat(pieces.SelectMany(p => p)).ToArray());

    /// <summary>
    /// No lines past the limit, no queue groups, no JetStream API (its answers come asynchronously), and no client HMSG
    /// (cut short by a mutation, nats-server fails it or not depending on where its read ends; the silo waits), and no
    /// pedantic CONNECT (see <see cref="ComparableStream"/>).
    /// </summary>
    private static bool Comparable(byte[] seed)
        => seed.Length <= 4096 && seed.AsSpan().IndexOf(" q "u8) < 0 && seed.AsSpan().IndexOf("$JS"u8) < 0 && seed.AsSpan().IndexOf("HMSG"u8) < 0
           && seed.AsSpan().IndexOf("pedantic"u8) < 0;

    private static byte[] Bytes(string head, byte[]? payload = null, string tail = "")
        => [.. Encoding.UTF8.GetBytes(head), .. payload ?? [], .. Encoding.UTF8.GetBytes(tail)];
}
