using System.Buffers.Text;

namespace Platform.Grains.Streams;

/// <summary>The JetStream publish headers a stream acts on, read from a NATS/1.0 header block without allocating
/// unless a header is present.</summary>
internal readonly ref struct PublishHeaders
{
    public PublishHeaders(ReadOnlySpan<byte> block)
    {
        MsgId = default;
        Incr = default;
        ExpectedStream = default;
        ExpectedLastMsgId = default;
        ExpectedLastSequence = null;
        ExpectedLastSubjectSequence = null;
        Rollup = default;
        Ttl = default;
        if (block.IsEmpty || block.IndexOf("Nats-"u8) < 0)
            return;
        foreach (var header in new HeaderLines(block))
        {
            ReadOnlySpan<byte> key = header.Key, value = header.Value;
            if (key.SequenceEqual("Nats-Msg-Id"u8)) MsgId = value;
            else if (key.SequenceEqual("Nats-Expected-Stream"u8)) ExpectedStream = value;
            else if (key.SequenceEqual("Nats-Incr"u8)) Incr = value;
            else if (key.SequenceEqual("Nats-Expected-Last-Msg-Id"u8)) ExpectedLastMsgId = value;
            else if (key.SequenceEqual("Nats-Expected-Last-Sequence"u8)) ExpectedLastSequence = ParseSequence(value);
            else if (key.SequenceEqual("Nats-Expected-Last-Subject-Sequence"u8)) ExpectedLastSubjectSequence = ParseSequence(value);
            else if (key.SequenceEqual("Nats-Rollup"u8)) Rollup = value;
            else if (key.SequenceEqual("Nats-TTL"u8)) Ttl = value;
        }
    }

    public ReadOnlySpan<byte> MsgId { get; }
    /// <summary>2.12's counter increment, read by <see cref="MessageCounter"/>.</summary>
    public ReadOnlySpan<byte> Incr { get; }
    public ReadOnlySpan<byte> ExpectedStream { get; }
    public ReadOnlySpan<byte> ExpectedLastMsgId { get; }
    public ulong? ExpectedLastSequence { get; }
    public ulong? ExpectedLastSubjectSequence { get; }
    public ReadOnlySpan<byte> Rollup { get; }
    /// <summary>2.11's per-message TTL, read by <see cref="MessageTtl"/>.</summary>
    public ReadOnlySpan<byte> Ttl { get; }

    private static ulong? ParseSequence(ReadOnlySpan<byte> value)
        => Utf8Parser.TryParse(value, out ulong seq, out int consumed) && consumed == value.Length ? seq : null;
}
