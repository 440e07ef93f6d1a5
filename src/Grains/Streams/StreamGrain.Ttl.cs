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

    private static readonly TimeSpan TtlPeriod = TimeSpan.FromSeconds(1);

    private static long UnixNanos() => (DateTime.UtcNow.Ticks - UnixEpochTicks) * 100;

    private static long ExpiresAt(long timestampNanos, long ttlSeconds)
        => ttlSeconds > (long.MaxValue - timestampNanos) / 1_000_000_000 ? long.MaxValue : timestampNanos + ttlSeconds * 1_000_000_000;

    private void TrackTtl(ulong sequence, long timestampNanos, long ttlSeconds)
    {
        if (ttlSeconds > 0)
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
        while (_ttlExpiry.TryPeek(out var sequence, out var due) && due <= now)
        {
            _ttlExpiry.Dequeue();
            if (log.Delete(sequence))
            {
                removed = true;
                _interest.Remove(sequence);
            }
        }
        if (removed)
            ReportUsage();
    }

    /// <summary>Reads the TTL of every stored message (messages appended before this ran are found twice, harmlessly).</summary>
    private void IndexTtls(IMessageLog log)
    {
        _ttlIndexed = true;
        var batch = new List<LogRecord>(256);
        ulong from = log.State.FirstSequence;
        while (true)
        {
            batch.Clear();
            if (log.Read(from, 256, 0, null, batch) == 0)
                return;
            foreach (var record in batch)
                if (MessageTtl.TryParse(new PublishHeaders(record.Headers).Ttl, out var ttl))
                    TrackTtl(record.Sequence, record.TimestampNanos, ttl);
            from = batch[^1].Sequence + 1;
        }
    }

    /// <summary>max_age on a stream with TTLs: every message older than the cutoff goes, except those whose TTL is "never".</summary>
    private static void ExpireByAgeSparingNever(IMessageLog log, long cutoff)
    {
        var batch = new List<LogRecord>(256);
        ulong from = log.State.FirstSequence;
        while (true)
        {
            batch.Clear();
            if (log.Read(from, 256, 0, null, batch) == 0)
                return;
            foreach (var record in batch)
            {
                if (record.TimestampNanos >= cutoff)
                    return;
                if (!MessageTtl.TryParse(new PublishHeaders(record.Headers).Ttl, out var ttl) || ttl != MessageTtl.Never)
                    log.Delete(record.Sequence);
            }
            from = batch[^1].Sequence + 1;
        }
    }
}
