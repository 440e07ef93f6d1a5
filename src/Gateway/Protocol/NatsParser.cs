using System.Buffers;
using System.Buffers.Text;

namespace Platform.Gateway.Protocol;

/// <summary>
/// Parses client operations from a read buffer without copying payloads. An incomplete op is left unconsumed and
/// parsed again from its start once more bytes arrive, so the parser keeps no state between reads beyond a scratch
/// line for control lines that straddle buffer segments.
/// </summary>
internal sealed class NatsParser
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';

    private readonly int _maxControlLine;
    private readonly int _maxPayload;
    private readonly byte[] _scratch;

    public NatsParser(int maxControlLine, int maxPayload)
    {
        _maxControlLine = maxControlLine;
        _maxPayload = maxPayload;
        _scratch = new byte[maxControlLine + 2];
    }

    /// <summary>Whether HPUB is allowed (the client's CONNECT said headers:true).</summary>
    public bool HeadersEnabled { get; set; }

    /// <summary>The -ERR text for the last <see cref="ParseStatus.Error"/>, or null to close silently.</summary>
    public string? Error { get; private set; }

    public ParseStatus TryParse(ref SequenceReader<byte> reader, out ClientOp op)
    {
        op = default;
        long start = reader.Consumed;
        ReadOnlySpan<byte> line;
        if (reader.UnreadSpan.IndexOf(Lf) is var idx and >= 0)
        {
            line = reader.UnreadSpan[..idx];
            if (line.Length > _maxControlLine)
                return Fail(ProtocolErrors.MaxControlLineExceeded);
            reader.Advance(idx + 1);
        }
        else if (reader.TryReadTo(out ReadOnlySequence<byte> lineSeq, Lf))
        {
            if (lineSeq.Length > _maxControlLine)
                return Fail(ProtocolErrors.MaxControlLineExceeded);
            lineSeq.CopyTo(_scratch);
            line = _scratch.AsSpan(0, (int)lineSeq.Length);
        }
        else
        {
            return reader.Remaining > _maxControlLine ? Fail(ProtocolErrors.MaxControlLineExceeded) : ParseStatus.NeedMoreData;
        }

        if (line.Length > 0 && line[^1] == Cr)
            line = line[..^1];

        var opName = FirstToken(line, out var rest);
        switch (Classify(opName))
        {
            case ClientOpKind.Pub:
                return ParsePub(ref reader, start, rest, headers: false, out op);
            case ClientOpKind.HPub:
                if (!HeadersEnabled)
                    return Fail(null);
                return ParsePub(ref reader, start, rest, headers: true, out op);
            case ClientOpKind.Sub:
                return ParseSub(rest, out op);
            case ClientOpKind.Unsub:
                return ParseUnsub(rest, out op);
            case ClientOpKind.Connect:
                op.Kind = ClientOpKind.Connect;
                op.Payload = new ReadOnlySequence<byte>(rest.TrimStart(" \t"u8).ToArray());
                return ParseStatus.Op;
            case ClientOpKind.Ping:
                op.Kind = ClientOpKind.Ping;
                return ParseStatus.Op;
            case ClientOpKind.Pong:
                op.Kind = ClientOpKind.Pong;
                return ParseStatus.Op;
            case ClientOpKind.Ignored:
                op.Kind = ClientOpKind.Ignored;
                return ParseStatus.Op;
            default:
                return Fail(ProtocolErrors.UnknownOperation);
        }
    }

    private ParseStatus Fail(string? error)
    {
        Error = error;
        return ParseStatus.Error;
    }

    private static ClientOpKind Classify(ReadOnlySpan<byte> name)
    {
        // nats-server matches PING and PONG by prefix and ignores what follows on the line; the other ops need an
        // argument separator after the name.
        if (name.Length >= 4 && StartsWithIgnoreCase(name, "PING"u8))
            return ClientOpKind.Ping;
        if (name.Length >= 4 && StartsWithIgnoreCase(name, "PONG"u8))
            return ClientOpKind.Pong;
        if (EqualsIgnoreCase(name, "PUB"u8)) return ClientOpKind.Pub;
        if (EqualsIgnoreCase(name, "HPUB"u8)) return ClientOpKind.HPub;
        if (EqualsIgnoreCase(name, "SUB"u8)) return ClientOpKind.Sub;
        if (EqualsIgnoreCase(name, "UNSUB"u8)) return ClientOpKind.Unsub;
        if (EqualsIgnoreCase(name, "CONNECT"u8)) return ClientOpKind.Connect;
        if (EqualsIgnoreCase(name, "INFO"u8) || EqualsIgnoreCase(name, "+OK"u8)) return ClientOpKind.Ignored;
        return ClientOpKind.None;
    }

    private ParseStatus ParsePub(ref SequenceReader<byte> reader, long start, ReadOnlySpan<byte> args, bool headers, out ClientOp op)
    {
        op = default;
        Span<Range> parts = stackalloc Range[5];
        var count = SplitArgs(args, parts);
        int sizeIndex = count - 1;
        int minArgs = headers ? 3 : 2;
        if (count < minArgs || count > minArgs + 1)
            return Fail(null);

        if (!TryParseSize(args[parts[sizeIndex]], out var total))
            return Fail(null);
        int headerLength = 0;
        if (headers)
        {
            if (!TryParseSize(args[parts[sizeIndex - 1]], out headerLength) || headerLength > total)
                return Fail(null);
        }
        if (total > _maxPayload)
            return Fail(ProtocolErrors.MaxPayloadViolation);

        if (reader.Remaining < total + 2)
        {
            reader.Rewind(reader.Consumed - start);
            return ParseStatus.NeedMoreData;
        }

        op.Kind = headers ? ClientOpKind.HPub : ClientOpKind.Pub;
        op.Subject = args[parts[0]];
        op.Reply = count == minArgs + 1 ? args[parts[1]] : default;
        op.HeaderLength = headerLength;
        op.Payload = reader.UnreadSequence.Slice(0, total);
        reader.Advance(total);
        if (!reader.IsNext(Cr, advancePast: true) || !reader.IsNext(Lf, advancePast: true))
            return Fail(ProtocolErrors.UnknownOperation);
        return ParseStatus.Op;
    }

    private ParseStatus ParseSub(ReadOnlySpan<byte> args, out ClientOp op)
    {
        op = default;
        Span<Range> parts = stackalloc Range[4];
        var count = SplitArgs(args, parts);
        if (count is < 2 or > 3)
            return Fail(null);
        op.Kind = ClientOpKind.Sub;
        op.Subject = args[parts[0]];
        op.Queue = count == 3 ? args[parts[1]] : default;
        op.Sid = args[parts[count - 1]];
        return ParseStatus.Op;
    }

    private ParseStatus ParseUnsub(ReadOnlySpan<byte> args, out ClientOp op)
    {
        op = default;
        Span<Range> parts = stackalloc Range[3];
        var count = SplitArgs(args, parts);
        if (count is < 1 or > 2)
            return Fail(count == 0 ? ProtocolErrors.UnknownOperation : null);
        op.Kind = ClientOpKind.Unsub;
        op.Sid = args[parts[0]];
        // nats-server treats an unparsable max as no max.
        op.Max = count == 2 && TryParseSize(args[parts[1]], out var max) ? max : 0;
        return ParseStatus.Op;
    }

    /// <summary>Splits on runs of spaces and tabs; returns the count, or parts.Length + 1 when there are too many.</summary>
    private static int SplitArgs(ReadOnlySpan<byte> args, Span<Range> parts)
    {
        int count = 0, i = 0;
        while (i < args.Length)
        {
            while (i < args.Length && (args[i] == ' ' || args[i] == '\t')) i++;
            if (i == args.Length) break;
            int startIndex = i;
            while (i < args.Length && args[i] != ' ' && args[i] != '\t') i++;
            if (count == parts.Length) return count + 1;
            parts[count++] = new Range(startIndex, i);
        }
        return count;
    }

    private static bool TryParseSize(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 9)
            return false;
        foreach (var b in text)
            if (b is < (byte)'0' or > (byte)'9') return false;
        return Utf8Parser.TryParse(text, out value, out _);
    }

    private static ReadOnlySpan<byte> FirstToken(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> rest)
    {
        int end = line.IndexOfAny((byte)' ', (byte)'\t');
        if (end < 0)
        {
            rest = default;
            return line;
        }
        rest = line[end..];
        return line[..end];
    }

    private static bool EqualsIgnoreCase(ReadOnlySpan<byte> a, ReadOnlySpan<byte> upper)
        => a.Length == upper.Length && StartsWithIgnoreCase(a, upper);

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> a, ReadOnlySpan<byte> upper)
    {
        for (int i = 0; i < upper.Length; i++)
        {
            if ((a[i] & 0xDF) != upper[i] && a[i] != upper[i])
                return false;
        }
        return true;
    }
}
