using System.Buffers;

namespace Platform.Grains.Streams;

/// <summary>
/// A publish batch framed again as the stream stored it: a counter stream stores a total in place of each empty body
/// published, and its replicas and republished messages must carry the total, not the increment. Only counter streams
/// build one, so other appends ship the publish frames as they came.
/// </summary>
internal sealed class StoredFrames(int capacity)
{
    private readonly ArrayBufferWriter<byte> _buffer = new(Math.Max(capacity, 256));

    /// <summary>Where the next frame goes.</summary>
    public int Length => _buffer.WrittenCount;

    public void Add(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload)
    {
        int size = PublishFrames.FrameSize(subject.Length, headers.Length, payload.Length);
        var frame = _buffer.GetSpan(size);
        PublishFrames.WriteHeader(frame, subject.Length, headers.Length, payload.Length);
        int offset = PublishFrames.FrameHeaderSize;
        subject.CopyTo(frame[offset..]);
        offset += subject.Length;
        headers.CopyTo(frame[offset..]);
        offset += headers.Length;
        payload.CopyTo(frame[offset..]);
        _buffer.Advance(size);
    }

    /// <summary>The frames as one array (a copy: the batch crosses to the replicas as an immutable byte[]).</summary>
    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();
}
