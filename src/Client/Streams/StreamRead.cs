using System.Buffers.Binary;
using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>
/// Records read from a stream for a consumer, framed in one buffer: <c>[seq:u64][length:i32][record]</c> per
/// record, with the record as the log encodes it, so nothing is decoded or copied per message on the way.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.StreamRead")]
public sealed record StreamRead(
    [property: Id(0)] byte[] Frames,
    [property: Id(1)] int Length,
    [property: Id(2)] int Count,
    [property: Id(3)] ulong LastSequence,
    [property: Id(4)] ulong NextSequence,
    [property: Id(5)] ulong Pending = 0)
{
    public static readonly StreamRead Empty = new([], 0, 0, 0, 0);

    /// <param name="pending">For <see cref="IStreamGrain.Read"/>: the messages matching its filters from <paramref name="nextSequence"/> on,
    /// which a consumer reports with every fetch; counted in the same call, it costs no second one.</param>
    internal static StreamRead From(List<LogRecord> records, ulong lastSequence, ulong nextSequence, ulong pending = 0)
    {
        int size = 0;
        foreach (var r in records)
            size += 12 + r.Encoded.Length;
        var frames = new byte[size];
        int p = 0;
        foreach (var r in records)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(frames.AsSpan(p), r.Sequence);
            BinaryPrimitives.WriteInt32LittleEndian(frames.AsSpan(p + 8), r.Encoded.Length);
            r.Encoded.Span.CopyTo(frames.AsSpan(p + 12));
            p += 12 + r.Encoded.Length;
        }
        return new StreamRead(frames, size, records.Count, lastSequence, nextSequence, pending);
    }

    public static void ReadFrame(ReadOnlySpan<byte> frames, ref int offset, out ulong sequence, out ReadOnlySpan<byte> record)
    {
        sequence = BinaryPrimitives.ReadUInt64LittleEndian(frames[offset..]);
        int length = BinaryPrimitives.ReadInt32LittleEndian(frames[(offset + 8)..]);
        record = frames.Slice(offset + 12, length);
        offset += 12 + length;
    }
}
