using Platform.Grains.Subjects;

namespace Platform.Grains.Streams;

/// <summary>
/// A stream's republish directive in the append path: which stored messages go out again, remembered by their place
/// in the publish batch while the batch is appended, and sent only after the batch is committed. A stream without
/// republish has none of this (the grain holds null), so its appends pay nothing.
/// </summary>
internal sealed class StreamRepublish
{
    private readonly SubjectTransform _transform;
    private readonly bool _headersOnly;
    private readonly List<Stored> _pending = [];

    private StreamRepublish(SubjectTransform transform, bool headersOnly)
    {
        _transform = transform;
        _headersOnly = headersOnly;
    }

    public static StreamRepublish? For(PlatformStreamConfig config)
        => config.RePublish is { Destination.Length: > 0 } r && SubjectTransform.Create(r.Source, r.Destination, out _) is { } transform
            ? new StreamRepublish(transform, r.HeadersOnly)
            : null;

    public bool Wants(ReadOnlySpan<byte> subject) => _transform.Matches(subject);

    /// <summary>A message of the batch was stored: its frame's offset, sequence, the subject's previous last sequence, time.</summary>
    public void Add(int frameOffset, ulong sequence, ulong lastSubjectSequence, long timestampNanos)
        => _pending.Add(new Stored(frameOffset, sequence, lastSubjectSequence, timestampNanos));

    public void Clear() => _pending.Clear();

    /// <summary>Sends what the committed batch stored, in order.</summary>
    public void Send(ReadOnlySpan<byte> frames, string stream, IStreamRepublisher? to)
    {
        if (to is not null && _pending.Count > 0)
        {
            Span<byte> onStack = stackalloc byte[512];
            foreach (var stored in _pending)
            {
                int offset = stored.FrameOffset;
                PublishFrames.Read(frames, ref offset, out var subject, out var headers, out var payload);
                int room = _transform.MaxLength(subject.Length);
                byte[]? rented = room > onStack.Length ? System.Buffers.ArrayPool<byte>.Shared.Rent(room) : null;
                Span<byte> destination = rented ?? onStack;
                _transform.TryTransform(subject, destination, out int length);
                to.Republish(stream, destination[..length], subject, headers, payload, stored.Sequence, stored.LastSubjectSequence,
                    stored.TimestampNanos, _headersOnly);
                if (rented is not null)
                    System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
        _pending.Clear();
    }

    private readonly record struct Stored(int FrameOffset, ulong Sequence, ulong LastSubjectSequence, long TimestampNanos);
}
