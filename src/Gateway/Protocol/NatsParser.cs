using System.Buffers;
using System.Buffers.Text;

namespace Platform.Gateway.Protocol;

/// <summary>
/// Parses client operations from a read buffer without copying payloads. An incomplete op is left unconsumed and
/// parsed again from its start once more bytes arrive, so the parser keeps no state between reads beyond a scratch
/// line for control lines that straddle buffer segments.
/// </summary>
/// <remarks>
/// The rules are nats-server 2.9.10's, checked on the wire: the op name is checked byte by byte as it arrives (a wrong
/// byte is an error at once, even before the line's end), PUB, HPUB, SUB, UNSUB and -ERR need a blank after the name,
/// PING, PONG and +OK ignore the rest of their line, and max_control_line bounds the arguments only: what follows the
/// op name and its blanks, without the line's CR.
/// </remarks>
internal sealed class NatsParser
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';
    /// <summary>The longest op name plus the blank after it.</summary>
    private const int HeadLength = 8;

    private readonly int _maxControlLine;
    private readonly int _maxPayload;
    private byte[] _scratch;
    /// <summary>The first bytes of an op that straddles segments, for checking its name.</summary>
    private readonly byte[] _head = new byte[HeadLength];

    public NatsParser(int maxControlLine, int maxPayload)
    {
        _maxControlLine = maxControlLine;
        _maxPayload = maxPayload;
        _scratch = new byte[maxControlLine + 64];
    }

    /// <summary>Whether HPUB is allowed (the client's CONNECT said headers:true).</summary>
    public bool HeadersEnabled { get; set; }

    /// <summary>
    /// Set while the server requires authentication and no CONNECT was accepted yet: as nats-server, an op that does
    /// not start with 'C' is then an authorization violation from its first byte.
    /// </summary>
    public bool AwaitingConnect { get; set; }

    /// <summary>The -ERR text for the last <see cref="ParseStatus.Error"/>, or null to close silently.</summary>
    public string? Error { get; private set; }

    /// <summary>
    /// After NeedMoreData or an error: the op was a PUB or HPUB whose line parsed, with a subject a pedantic client
    /// gets -ERR 'Invalid Publish Subject' for. nats-server sends that when it reads the line, before the payload
    /// arrives or fails, so the connection sends it then too (once per op).
    /// </summary>
    public bool PendingInvalidSubject { get; private set; }

    public ParseStatus TryParse(ref SequenceReader<byte> reader, out ClientOp op)
    {
        op = default;
        PendingInvalidSubject = false;
        long start = reader.Consumed;
        var head = reader.UnreadSpan.Length >= HeadLength
            ? reader.UnreadSpan[..HeadLength]
            : Peek(reader, _head);
        if (head.IsEmpty)
            return ParseStatus.NeedMoreData;
        if (AwaitingConnect && (head[0] | 0x20) != 'c')
            return Fail(ProtocolErrors.AuthorizationViolation);

        var name = OpName(head[0], head.Length > 1 ? head[1] : (byte)0, out var kind, out var form);
        if (kind == ClientOpKind.None)
            return head.Length < 2 && name.Length > 1 ? ParseStatus.NeedMoreData : Fail(ProtocolErrors.UnknownOperation);
        int known = Math.Min(head.Length, name.Length);
        for (int i = 0; i < known; i++)
        {
            if (head[i] != name[i] && head[i] != (name[i] | 0x20))
                return Fail(ProtocolErrors.UnknownOperation);
        }
        if (head.Length <= name.Length)
        {
            // A blank must follow the name of an op with arguments; whether it does is not known yet.
            return ParseStatus.NeedMoreData;
        }
        if (form == OpForm.Blank && head[name.Length] is not ((byte)' ' or (byte)'\t'))
            return Fail(ProtocolErrors.UnknownOperation);

        if (!TryReadLine(ref reader, name.Length, form, out var args, out var status))
            return status;

        switch (kind)
        {
            case ClientOpKind.Pub:
                return ParsePub(ref reader, start, args, headers: false, out op);
            case ClientOpKind.HPub:
                if (!HeadersEnabled)
                    return Fail(null);
                return ParsePub(ref reader, start, args, headers: true, out op);
            case ClientOpKind.Sub:
                return ParseSub(args, out op);
            case ClientOpKind.Unsub:
                return ParseUnsub(args, out op);
            case ClientOpKind.Connect:
                op.Kind = ClientOpKind.Connect;
                op.Payload = new ReadOnlySequence<byte>(args.ToArray());
                return ParseStatus.Op;
            case ClientOpKind.Info:
                op.Kind = ClientOpKind.Info;
                op.Payload = new ReadOnlySequence<byte>(args.ToArray());
                return ParseStatus.Op;
            case ClientOpKind.HMsg:
                return ParseClientHmsg(ref reader, start, out op);
            case ClientOpKind.Err:
                // nats-server logs a client's -ERR and closes the connection without a word.
                return Fail(null);
            default:
                op.Kind = kind;
                return ParseStatus.Op;
        }
    }

    private ParseStatus Fail(string? error)
    {
        Error = error;
        return ParseStatus.Error;
    }

    private ParseStatus FailPayload(ReadOnlySpan<byte> subject)
    {
        PendingInvalidSubject = !Routing.SubjectRules.IsValidPublishSubject(subject);
        return Fail(ProtocolErrors.UnknownOperation);
    }

    private static ReadOnlySpan<byte> Peek(in SequenceReader<byte> reader, byte[] buffer)
    {
        int length = (int)Math.Min(buffer.Length, reader.Remaining);
        reader.UnreadSequence.Slice(0, length).CopyTo(buffer);
        return buffer.AsSpan(0, length);
    }

    private enum OpForm : byte
    {
        /// <summary>Arguments after a required blank (PUB, HPUB, SUB, UNSUB, -ERR, and HMSG).</summary>
        Blank,
        /// <summary>Arguments after optional blanks (CONNECT, INFO).</summary>
        Open,
        /// <summary>Everything after the name up to the LF is ignored (PING, PONG, +OK).</summary>
        Line,
    }

    /// <summary>The op whose name starts with these two bytes, in upper case; kind None for no op (or not known yet).</summary>
    private static ReadOnlySpan<byte> OpName(byte first, byte second, out ClientOpKind kind, out OpForm form)
    {
        form = OpForm.Blank;
        switch (first | 0x20)
        {
            case 'p':
                switch (second | 0x20)
                {
                    case 'u': kind = ClientOpKind.Pub; return "PUB"u8;
                    case 'i': kind = ClientOpKind.Ping; form = OpForm.Line; return "PING"u8;
                    case 'o': kind = ClientOpKind.Pong; form = OpForm.Line; return "PONG"u8;
                    default: kind = ClientOpKind.None; return "P?"u8;
                }
            case 'h':
                switch (second | 0x20)
                {
                    case 'p': kind = ClientOpKind.HPub; return "HPUB"u8;
                    case 'm': kind = ClientOpKind.HMsg; return "HMSG"u8;
                    default: kind = ClientOpKind.None; return "H?"u8;
                }
            case 's': kind = ClientOpKind.Sub; return "SUB"u8;
            case 'u': kind = ClientOpKind.Unsub; return "UNSUB"u8;
            case 'c': kind = ClientOpKind.Connect; form = OpForm.Open; return "CONNECT"u8;
            case 'i': kind = ClientOpKind.Info; form = OpForm.Open; return "INFO"u8;
            case '+': kind = ClientOpKind.Ignored; form = OpForm.Line; return "+OK"u8;
            case '-': kind = ClientOpKind.Err; return "-ERR"u8;
            default: kind = ClientOpKind.None; return default;
        }
    }

    /// <summary>
    /// Reads the control line up to and past its LF and returns its arguments, checking their length against
    /// max_control_line whether or not the LF has arrived. False with the status to return when the line is incomplete
    /// or too long.
    /// </summary>
    private bool TryReadLine(scoped ref SequenceReader<byte> reader, int nameLength, OpForm form, out ReadOnlySpan<byte> args, out ParseStatus status)
    {
        status = ParseStatus.Op;
        args = default;
        // Where the LF may be: nats-server takes the first byte after the blanks as the start of the arguments, whatever
        // it is (a CR or an LF too), so the line can only end after it.
        long searchFrom = nameLength;
        if (form != OpForm.Line)
        {
            var blanks = new SequenceReader<byte>(reader.UnreadSequence.Slice(nameLength));
            searchFrom += blanks.AdvancePastAny((byte)' ', (byte)'\t') + 1;
            if (blanks.End)
            {
                status = PartialLineTooLong(reader.UnreadSequence, nameLength, form) ? Fail(ProtocolErrors.MaxControlLineExceeded) : ParseStatus.NeedMoreData;
                return false;
            }
        }
        var unread = reader.UnreadSpan;
        if (searchFrom <= unread.Length && unread[(int)searchFrom..].IndexOf(Lf) is var found and >= 0)
        {
            int lf = (int)searchFrom + found;
            if (LineTooLong(unread[..lf], nameLength, form, out args))
            {
                status = Fail(ProtocolErrors.MaxControlLineExceeded);
                return false;
            }
            reader.Advance(lf + 1);
            return true;
        }
        var rest = reader.UnreadSequence;
        var end = rest.Slice(searchFrom).PositionOf(Lf);
        if (end is null)
        {
            status = PartialLineTooLong(rest, nameLength, form) ? Fail(ProtocolErrors.MaxControlLineExceeded) : ParseStatus.NeedMoreData;
            return false;
        }
        var lineSeq = rest.Slice(0, end.Value);
        if (PartialLineTooLong(lineSeq, nameLength, form))
        {
            status = Fail(ProtocolErrors.MaxControlLineExceeded);
            return false;
        }
        if (lineSeq.Length > _scratch.Length)
            _scratch = new byte[lineSeq.Length];
        lineSeq.CopyTo(_scratch);
        LineTooLong(_scratch.AsSpan(0, (int)lineSeq.Length), nameLength, form, out args);
        reader.Advance(lineSeq.Length + 1);
        return true;
    }

    /// <summary>
    /// Whether a whole line is over the limit: its arguments, and the bytes that nats-server does not buffer (an
    /// ignored line's rest, the blanks before the arguments), which we do buffer and so bound at the limit too. The
    /// same measure as <see cref="PartialLineTooLong"/>, so where reads split a line never changes the outcome.
    /// </summary>
    private bool LineTooLong(ReadOnlySpan<byte> line, int nameLength, OpForm form, out ReadOnlySpan<byte> args)
    {
        args = Arguments(line, nameLength, form);
        if (form == OpForm.Line)
            return line.Length - nameLength > _maxControlLine;
        return args.Length > _maxControlLine || ArgumentStart(line, nameLength, form) - nameLength > _maxControlLine;
    }

    /// <summary>Whether a line without its LF yet (or straddling segments) is already over the limit.</summary>
    private bool PartialLineTooLong(in ReadOnlySequence<byte> rest, int nameLength, OpForm form)
    {
        if (rest.Length - nameLength <= _maxControlLine)
            return false;
        if (form == OpForm.Line)
            return true;
        long blanks = 0;
        var reader = new SequenceReader<byte>(rest.Slice(nameLength));
        while (reader.TryPeek(out var b) && b is (byte)' ' or (byte)'\t')
        {
            reader.Advance(1);
            blanks++;
        }
        long argument = reader.Remaining;
        if (argument > 1 && reader.UnreadSequence.Slice(1).PositionOf(Cr) is not null)
            argument--;
        return argument > _maxControlLine || blanks > _maxControlLine;
    }

    /// <summary>Where the arguments start: after the name and, for ops with arguments, the blanks after it.</summary>
    private static int ArgumentStart(ReadOnlySpan<byte> line, int nameLength, OpForm form)
    {
        if (form == OpForm.Line)
            return line.Length;
        int i = nameLength;
        while (i < line.Length && line[i] is (byte)' ' or (byte)'\t')
            i++;
        return i;
    }

    /// <summary>
    /// The arguments as nats-server takes them: from the first byte after the blanks to the LF, less one byte if a CR
    /// came after that first byte (its CR handling drops the line's last byte then, which is the CR of a normal line).
    /// </summary>
    private static ReadOnlySpan<byte> Arguments(ReadOnlySpan<byte> line, int nameLength, OpForm form)
    {
        var args = line[ArgumentStart(line, nameLength, form)..];
        if (args.Length > 1 && args[1..].Contains(Cr))
            args = args[..^1];
        return args;
    }

    private ParseStatus ParsePub(ref SequenceReader<byte> reader, long start, ReadOnlySpan<byte> args, bool headers, out ClientOp op)
    {
        op = default;
        Span<Range> parts = stackalloc Range[5];
        var count = SplitArgs(args, parts, "\t "u8);
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
            // nats-server fails on the byte after the payload as soon as it is there.
            if (reader.Remaining > total && !reader.UnreadSequence.Slice(total, 1).FirstSpan.StartsWith("\r"u8))
                return FailPayload(args[parts[0]]);
            PendingInvalidSubject = !Routing.SubjectRules.IsValidPublishSubject(args[parts[0]]);
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
            return FailPayload(op.Subject);
        return ParseStatus.Op;
    }

    /// <summary>
    /// A client's HMSG carries nothing nats-server reads: it goes straight to the end of an empty message, so the line
    /// must be followed by CR LF, and the op is a message to no subject (acknowledged to a verbose client, delivered
    /// nowhere).
    /// </summary>
    private ParseStatus ParseClientHmsg(ref SequenceReader<byte> reader, long start, out ClientOp op)
    {
        op = default;
        if (reader.Remaining < 2)
        {
            if (reader.Remaining == 1 && !reader.IsNext(Cr))
                return Fail(ProtocolErrors.UnknownOperation);
            reader.Rewind(reader.Consumed - start);
            return ParseStatus.NeedMoreData;
        }
        if (!reader.IsNext(Cr, advancePast: true) || !reader.IsNext(Lf, advancePast: true))
            return Fail(ProtocolErrors.UnknownOperation);
        op.Kind = ClientOpKind.HMsg;
        return ParseStatus.Op;
    }

    private ParseStatus ParseSub(ReadOnlySpan<byte> args, out ClientOp op)
    {
        op = default;
        Span<Range> parts = stackalloc Range[4];
        var count = SplitArgs(args, parts, "\t\n\r "u8);
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
        var count = SplitArgs(args, parts, "\t\n\r "u8);
        if (count is < 1 or > 2)
            return Fail(null);
        op.Kind = ClientOpKind.Unsub;
        op.Sid = args[parts[0]];
        // nats-server treats an unparsable max as no max.
        op.Max = count == 2 && TryParseSize(args[parts[1]], out var max) ? max : 0;
        return ParseStatus.Op;
    }

    /// <summary>
    /// Splits on runs of the separators (PUB and HPUB split on blanks only, SUB and UNSUB on CR and LF too, as
    /// nats-server does); returns the count, or parts.Length + 1 when there are too many.
    /// </summary>
    private static int SplitArgs(ReadOnlySpan<byte> args, Span<Range> parts, ReadOnlySpan<byte> separators)
    {
        int count = 0, i = 0;
        while (i < args.Length)
        {
            while (i < args.Length && separators.Contains(args[i])) i++;
            if (i == args.Length) break;
            int startIndex = i;
            while (i < args.Length && !separators.Contains(args[i])) i++;
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
}
