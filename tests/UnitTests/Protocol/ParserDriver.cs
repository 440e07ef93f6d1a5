using System.Buffers;
using System.Text;
using Platform.Gateway.Protocol;

namespace Platform.UnitTests.Protocol;

/// <summary>An op copied out of the read buffer; every byte field as Latin-1 so records compare and print them.</summary>
internal sealed record ParsedOp(
    ClientOpKind Kind,
    string Subject = "",
    string Reply = "",
    string Queue = "",
    string Sid = "",
    long Max = 0,
    int HeaderLength = 0,
    string Payload = "")
{
    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    public static string Text(in ReadOnlySequence<byte> bytes) => Encoding.Latin1.GetString(bytes);

    public static ParsedOp From(in ClientOp op) => new(
        op.Kind, Text(op.Subject), Text(op.Reply), Text(op.Queue), Text(op.Sid), op.Max, op.HeaderLength, Text(op.Payload));
}

/// <summary>
/// What a run parsed. Status is Error when the parser failed, NeedMoreData when bytes were left unconsumed after
/// the last read, and Op when every byte parsed into ops.
/// </summary>
internal sealed record ParseRun(List<ParsedOp> Ops, ParseStatus Status, string? Error, long Unconsumed);

internal sealed class BufferSegment : ReadOnlySequenceSegment<byte>
{
    public BufferSegment(ReadOnlyMemory<byte> memory) => Memory = memory;

    public BufferSegment Append(ReadOnlyMemory<byte> memory)
    {
        var next = new BufferSegment(memory) { RunningIndex = RunningIndex + Memory.Length };
        Next = next;
        return next;
    }

    public static ReadOnlySequence<byte> Sequence(IReadOnlyList<ReadOnlyMemory<byte>> parts)
    {
        if (parts.Count == 0)
            return ReadOnlySequence<byte>.Empty;
        var first = new BufferSegment(parts[0]);
        var last = first;
        for (int i = 1; i < parts.Count; i++)
            last = last.Append(parts[i]);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}

/// <summary>
/// Feeds a parser the way the connection's read loop does: each read is the unconsumed tail of the previous reads
/// followed by the new chunk, as a multi-segment sequence, parsed until it needs more data or fails.
/// </summary>
internal static class ParserDriver
{
    /// <summary>
    /// Above this many leftover segments the tail is merged into one. Without it 1-byte chunks of a 2 KB payload
    /// rebuild a 2000-segment sequence per byte, which is quadratic and tells us nothing more.
    /// </summary>
    private const int MaxLeftoverSegments = 16;

    public static NatsParser NewParser(int maxControlLine = 4096, int maxPayload = 1024 * 1024) => new(maxControlLine, maxPayload);

    public static ParseRun Run(IEnumerable<byte[]> chunks, NatsParser? parser = null)
    {
        parser ??= NewParser();
        var ops = new List<ParsedOp>();
        var leftover = new List<ReadOnlyMemory<byte>>();
        foreach (var chunk in chunks)
        {
            var parts = new List<ReadOnlyMemory<byte>>(leftover) { chunk };
            var buffer = BufferSegment.Sequence(parts);
            var reader = new SequenceReader<byte>(buffer);
            while (!reader.End)
            {
                long before = reader.Consumed;
                var status = parser.TryParse(ref reader, out var op);
                if (status == ParseStatus.Error)
                    return new ParseRun(ops, status, parser.Error, reader.Remaining);
                if (status == ParseStatus.NeedMoreData)
                {
                    Assert.Equal(before, reader.Consumed);
                    break;
                }
                ops.Add(ParsedOp.From(op));
                if (op.Kind == ClientOpKind.Connect && ConnectOptions.TryParse(op.Payload.ToArray()) is { } options)
                {
                    // As the connection does after an accepted CONNECT.
                    parser.HeadersEnabled = options.Headers;
                    parser.AwaitingConnect = false;
                }
            }
            leftover = Tail(buffer.Slice(reader.Position));
        }
        long unconsumed = leftover.Sum(m => (long)m.Length);
        return new ParseRun(ops, unconsumed == 0 ? ParseStatus.Op : ParseStatus.NeedMoreData, null, unconsumed);
    }

    public static ParseRun Run(params byte[][] chunks) => Run((IEnumerable<byte[]>)chunks);

    public static ParseRun Run(string wire, NatsParser? parser = null) => Run([Encoding.Latin1.GetBytes(wire)], parser);

    /// <summary>Copies the unconsumed bytes, keeping their segment boundaries as a pipe would.</summary>
    private static List<ReadOnlyMemory<byte>> Tail(ReadOnlySequence<byte> rest)
    {
        var tail = new List<ReadOnlyMemory<byte>>();
        foreach (var memory in rest)
        {
            if (!memory.IsEmpty)
                tail.Add(memory.ToArray());
        }
        if (tail.Count > MaxLeftoverSegments)
            return [rest.ToArray()];
        return tail;
    }

    /// <summary>Splits bytes at the given ascending cut points.</summary>
    public static List<byte[]> Split(byte[] bytes, params int[] cuts)
    {
        var chunks = new List<byte[]>();
        int start = 0;
        foreach (var cut in cuts.Append(bytes.Length))
        {
            chunks.Add(bytes[start..cut]);
            start = cut;
        }
        return chunks;
    }
}
