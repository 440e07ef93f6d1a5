using System.Buffers.Binary;

namespace Platform.Grains.Streams;

/// <summary>
/// The framing of a publish batch: many messages in one buffer, so a batch crosses Orleans as one immutable byte[]
/// with no per-message objects. Each frame is <c>[subject:u16][headers:i32][payload:i32][subject][headers][payload]</c>.
/// </summary>
public static class PublishFrames
{
    public const int FrameHeaderSize = 10;

    public static int FrameSize(int subjectLength, int headersLength, int payloadLength)
        => FrameHeaderSize + subjectLength + headersLength + payloadLength;

    /// <summary>Writes the frame header; the caller copies subject, headers and payload after it.</summary>
    public static void WriteHeader(Span<byte> destination, int subjectLength, int headersLength, int payloadLength)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)subjectLength);
        BinaryPrimitives.WriteInt32LittleEndian(destination[2..], headersLength);
        BinaryPrimitives.WriteInt32LittleEndian(destination[6..], payloadLength);
    }

    /// <summary>Reads the frame at <paramref name="offset"/> and moves the offset past it.</summary>
    public static void Read(ReadOnlySpan<byte> buffer, ref int offset, out ReadOnlySpan<byte> subject, out ReadOnlySpan<byte> headers, out ReadOnlySpan<byte> payload)
    {
        var frame = buffer[offset..];
        int subjectLength = BinaryPrimitives.ReadUInt16LittleEndian(frame);
        int headersLength = BinaryPrimitives.ReadInt32LittleEndian(frame[2..]);
        int payloadLength = BinaryPrimitives.ReadInt32LittleEndian(frame[6..]);
        int p = FrameHeaderSize;
        subject = frame.Slice(p, subjectLength);
        p += subjectLength;
        headers = frame.Slice(p, headersLength);
        p += headersLength;
        payload = frame.Slice(p, payloadLength);
        offset += p + payloadLength;
    }
}
