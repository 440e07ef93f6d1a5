using Microsoft.Extensions.Logging;
using Platform.Grains.Sourcing;
using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>
/// The stream's mirror or sources (<see cref="StreamSourcing"/>): a timer copies what is new in the origins, in
/// turns of the grain like any other write, so the publish path is untouched. A mirror's messages keep their origin
/// sequences and times; gaps (messages the origin no longer holds, or the filter left out) become deleted sequences.
/// A replicated stream ships what a turn copied to its replicas before the turn ends, from its log as the replica
/// timer would: the copies carry their sequences, gaps and first sequence, and a promoted replica finds where to go
/// on in its own log (a mirror's last sequence, the sources' headers), as after a restart.
/// </summary>
internal sealed partial class StreamGrain
{
    private static readonly TimeSpan SourcingPeriod = TimeSpan.FromMilliseconds(100);
    /// <summary>Reads one timer turn takes from each origin before the grain serves others again.</summary>
    private const int SourcingRoundsPerTurn = 8;

    private StreamSourcing? _sourcing;
    private IGrainTimer? _sourcingTimer;
    /// <summary>The append in progress copies from a source: its subjects are its origin's, not this stream's.</summary>
    private bool _appendingSourced;

    /// <summary>Starts (or, after an update, adjusts) the copying of the stream's mirror or sources; partition 0 only.</summary>
    private void StartSourcing()
    {
        _sourcing = IsRoot ? StreamSourcing.For(_config!, _sourcing) : null;
        if (_sourcing is null)
        {
            _sourcingTimer?.Dispose();
            _sourcingTimer = null;
            return;
        }
        _sourcingTimer ??= this.RegisterGrainTimer(static (self, _) => self.CopyFromOriginsAsync(), this,
            new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = SourcingPeriod, KeepAlive = false });
    }

    private async Task CopyFromOriginsAsync()
    {
        if (_sourcing is not { } sourcing || _log is null || _moving)
            return;
        try
        {
            if (!sourcing.Recovered)
            {
                using var lease = await UseLogAsync();
                sourcing.Recover(lease.Log);
            }
            foreach (var cursor in sourcing.Cursors)
            {
                for (int round = 0; round < SourcingRoundsPerTurn; round++)
                {
                    ulong storedLast = _log.TryGetState(out var state) ? state.LastSequence : 0;
                    var read = await sourcing.ReadAsync(cursor, GrainFactory, catalog, storedLast);
                    if (read is null || _sourcing != sourcing)
                        break;
                    if (read.Count > 0 && sourcing.IsMirror)
                        await StoreMirroredAsync(read);
                    else if (read.Count > 0)
                        await StoreSourcedAsync(cursor, read);
                    cursor.Next = Math.Max(cursor.Next, read.NextSequence);
                    if (read.Count < StreamSourcing.BatchSize)
                        break;
                }
            }
        }
        catch (Exception ex)
        {
            // The origin's silo may be away or the log full: the next turn tries again from the same place.
            logger.LogWarning("Stream {Stream} could not copy from its {Kind}: {Reason}", Name, sourcing.IsMirror ? "mirror" : "sources", ex.Message);
        }
        if (_replication is not null)
            await CommitTailAsync();
    }

    /// <summary>Appends a source's messages as a publish batch is appended (limits, dedup, retention, republish, signals).</summary>
    private async Task StoreSourcedAsync(SourceCursor cursor, StreamRead read)
    {
        var (frames, length) = StreamSourcing.FrameSourced(cursor, read);
        var acks = new PublishAck[read.Count];
        using var lease = await UseLogAsync();
        _appendingSourced = true;
        if (_config!.AllowMsgCounter)
            _sourcedCounters = (cursor.Config.Name, StreamSourcing.OriginSubjects(read));
        try
        {
            await AppendAsync(lease.Log, frames, length, acks, null);
        }
        finally
        {
            _appendingSourced = false;
            _sourcedCounters = null;
        }
        foreach (var ack in acks)
        {
            // As with a publish the stream refuses (too large, full with discard new): not stored, and not retried.
            if (ack.Error is { } error)
                logger.LogWarning("Stream {Stream} did not store a message from source {Source}: {Reason}", Name, cursor.IndexName, error.Description);
        }
    }

    /// <summary>Stores a mirror's messages under their origin sequences and times.</summary>
    private async Task StoreMirroredAsync(StreamRead read)
    {
        using var lease = await UseLogAsync();
        var log = lease.Log;
        await log.WaitForCapacityAsync();
        var buffer = read.Frames.AsSpan(0, read.Length);
        var cursor = _sourcing!.Cursors[0];
        int offset = 0;
        bool stored = false;
        for (int i = 0; i < read.Count; i++)
        {
            StreamRead.ReadFrame(buffer, ref offset, out ulong sequence, out var record);
            var state = log.State;
            if (sequence <= state.LastSequence)
                continue;
            var subject = cursor.MapSubject(RecordCodec.GetSubject(record));
            if (state.Messages == 0)
                log.SetNextSequence(Math.Max(sequence, state.FirstSequence));
            long timestamp = RecordCodec.GetTimestampNanos(record);
            if (state.Messages > 0)
                SkipTo(log, sequence, subject, timestamp);
            log.Append(subject, RecordCodec.GetHeaders(record), RecordCodec.GetPayload(record), timestamp);
            _lastTimestamp = Math.Max(_lastTimestamp, timestamp);
            if (_config!.MaxMsgsPerSubject > 0)
            {
                var subjectText = System.Text.Encoding.UTF8.GetString(subject);
                if (log.GetSubjectState(subjectText).Count > (ulong)_config.MaxMsgsPerSubject)
                    log.Purge(subjectText, 0, (ulong)_config.MaxMsgsPerSubject);
            }
            EnforceLimits(log);
            stored = true;
        }
        if (!stored)
            return;
        ReportUsage();
        await log.CommitAsync();
        signals.Advance(Key, log.State.LastSequence);
    }

    /// <summary>
    /// Leaves the sequences before <paramref name="sequence"/> that the origin no longer has as deleted ones, as
    /// nats-server's mirror skips them: each is taken by a placeholder removed at once.
    /// </summary>
    private static void SkipTo(IMessageLog log, ulong sequence, ReadOnlySpan<byte> subject, long timestamp)
    {
        while (log.State.LastSequence + 1 < sequence)
            log.Delete(log.Append(subject, default, default, timestamp));
    }
}
