using System.Text;
using Microsoft.Extensions.Logging;
using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>
/// Per-message TTL (2.11, ADR-43) on streams with allow_msg_ttl: a message stored with a Nats-TTL header is removed
/// once its time is up. The header stays in the stored message, so the expiry times are rebuilt from the log after a
/// restart (the first expiry turn of an activation reads the log once); a message that expired meanwhile goes at once.
/// Streams without allow_msg_ttl never reach this code.
/// </summary>
internal sealed partial class StreamGrain
{
    /// <summary>Sequences by the time (Unix nanoseconds) they expire; a sequence already removed is skipped.</summary>
    private readonly PriorityQueue<ulong, long> _ttlExpiry = new();
    /// <summary>Whether this activation has read the TTLs of the messages stored before it.</summary>
    private bool _ttlIndexed;
    /// <summary>
    /// The first message tracked as it was stored before that read (0: none): the read stops there, since a message
    /// queued twice would expire twice, and a subject's last message would leave two delete markers.
    /// </summary>
    private ulong _ttlTrackedFrom;

    private static readonly TimeSpan TtlPeriod = TimeSpan.FromSeconds(1);

    private static long UnixNanos() => (DateTime.UtcNow.Ticks - UnixEpochTicks) * 100;

    private static long ExpiresAt(long timestampNanos, long ttlSeconds)
        => ttlSeconds > (long.MaxValue - timestampNanos) / 1_000_000_000 ? long.MaxValue : timestampNanos + ttlSeconds * 1_000_000_000;

    private void TrackTtl(ulong sequence, long timestampNanos, long ttlSeconds)
    {
        if (ttlSeconds <= 0)
            return;
        if (!_ttlIndexed && _ttlTrackedFrom == 0)
            _ttlTrackedFrom = sequence;
        _ttlExpiry.Enqueue(sequence, ExpiresAt(timestampNanos, ttlSeconds));
    }

    private async Task ExpireByTtlAsync()
    {
        if (_config is not { AllowMsgTtl: true } || _log is null || _moving)
            return;
        long now = UnixNanos();
        if (_ttlIndexed && (!_ttlExpiry.TryPeek(out _, out var next) || next > now))
            return;
        using var lease = await UseLogAsync();
        var log = lease.Log;
        if (!_ttlIndexed)
            IndexTtls(log);
        bool removed = false;
        List<byte[]>? markers = null;
        while (_ttlExpiry.TryPeek(out var sequence, out var due) && due <= now)
        {
            _ttlExpiry.Dequeue();
            if (log.TryGet(sequence, out var record))
            {
                Expire(log, record, ref markers);
                removed = true;
            }
        }
        if (markers is not null)
            await PlaceMarkersAsync(log, markers);
        if (removed)
            ReportUsage();
    }

    /// <summary>
    /// Removes an expired message. With subject delete markers, a subject's last message stays for the marker that
    /// replaces it to roll up (<see cref="PlaceMarkersAsync"/>); a marker that expires just goes.
    /// </summary>
    private void Expire(IMessageLog log, LogRecord record, ref List<byte[]>? markers)
    {
        if (_config!.SubjectDeleteMarkerTtl > 0 && record.Headers.IndexOf("Nats-Marker-Reason:"u8) < 0
            && log.GetSubjectState(record.Subject).Count == 1)
        {
            (markers ??= []).Add(record.SubjectBytes.ToArray());
            return;
        }
        if (log.Delete(record.Sequence))
            _interest.Remove(record.Sequence);
    }

    /// <summary>
    /// Appends a delete marker on each subject, as nats-server does: no payload, Nats-Marker-Reason: MaxAge, the
    /// stream's marker TTL and a subject rollup that removes the message it replaces. Stored as any publish is, so
    /// consumers and republish see it; a subject whose marker is refused is purged instead.
    /// </summary>
    private async Task PlaceMarkersAsync(IMessageLog log, List<byte[]> subjects)
    {
        var header = Encoding.ASCII.GetBytes(
            $"NATS/1.0\r\nNats-Marker-Reason: MaxAge\r\nNats-TTL: {MessageTtl.GoDuration(_config!.SubjectDeleteMarkerTtl / 1_000_000_000)}\r\nNats-Rollup: sub\r\n\r\n");
        int length = 0;
        foreach (var subject in subjects)
            length += PublishFrames.FrameSize(subject.Length, header.Length, 0);
        var frames = new byte[length];
        int offset = 0;
        foreach (var subject in subjects)
        {
            PublishFrames.WriteHeader(frames.AsSpan(offset), subject.Length, header.Length, 0);
            offset += PublishFrames.FrameHeaderSize;
            subject.CopyTo(frames, offset);
            header.CopyTo(frames, offset + subject.Length);
            offset += subject.Length + header.Length;
        }
        var acks = new PublishAck[subjects.Count];
        await AppendAsync(log, frames, length, acks, null);
        for (int i = 0; i < acks.Length; i++)
        {
            if (acks[i].Error is not { } error)
                continue;
            var subject = Encoding.UTF8.GetString(subjects[i]);
            logger.LogWarning("Stream {Stream}: no delete marker for {Subject} ({Reason}); its expired message is removed", Key, subject, error.Description);
            log.Purge(subject, 0, 0);
        }
    }

    /// <summary>Reads the TTL of every message stored before this activation tracked any as it stored them.</summary>
    private void IndexTtls(IMessageLog log)
    {
        _ttlIndexed = true;
        ulong end = _ttlTrackedFrom == 0 ? ulong.MaxValue : _ttlTrackedFrom;
        var batch = new List<LogRecord>(256);
        ulong from = log.State.FirstSequence;
        while (from < end)
        {
            batch.Clear();
            if (log.Read(from, 256, 0, null, batch) == 0)
                return;
            foreach (var record in batch)
                if (record.Sequence < end && MessageTtl.TryParse(new PublishHeaders(record.Headers).Ttl, out var ttl))
                    TrackTtl(record.Sequence, record.TimestampNanos, ttl);
            from = batch[^1].Sequence + 1;
        }
    }

    /// <summary>
    /// max_age on a stream with TTLs: every message older than the cutoff goes (or makes way for a delete marker),
    /// except those whose TTL is "never".
    /// </summary>
    private async Task ExpireByAgeSparingNeverAsync(IMessageLog log, long cutoff)
    {
        var batch = new List<LogRecord>(256);
        List<byte[]>? markers = null;
        ulong from = log.State.FirstSequence;
        bool more = true;
        while (more)
        {
            batch.Clear();
            if (log.Read(from, 256, 0, null, batch) == 0)
                break;
            foreach (var record in batch)
            {
                if (record.TimestampNanos >= cutoff)
                {
                    more = false;
                    break;
                }
                if (!MessageTtl.TryParse(new PublishHeaders(record.Headers).Ttl, out var ttl) || ttl != MessageTtl.Never)
                    Expire(log, record, ref markers);
            }
            from = batch[^1].Sequence + 1;
        }
        if (markers is not null)
            await PlaceMarkersAsync(log, markers);
    }
}
