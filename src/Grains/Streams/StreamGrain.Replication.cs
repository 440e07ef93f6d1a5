using Microsoft.Extensions.Logging;
using Platform.Grains.Cluster;

namespace Platform.Grains.Streams;

/// <summary>
/// What readers of a replicated stream may see: only messages its replicas hold (<see cref="Replication.ReplicationPrimary.Committed"/>).
/// A message the primary stored but could not replicate yet may be gone after a failover, its sequence given to
/// another message by the promoted replica; a consumer that had been handed it would skip that one. A stream of one
/// copy reads everything it stored, on the same path as before (one null check).
/// </summary>
internal sealed partial class StreamGrain
{
    private static readonly TimeSpan CommitWaitTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The last sequence readers may see, of a log whose last sequence is <paramref name="last"/>.</summary>
    private ulong Readable(ulong last) => _replication is null ? last : Math.Min(last, _replication.Committed);

    /// <summary>
    /// Replicates what the primary holds above the committed sequence, and wakes the consumers if that moved it. Called
    /// only from turns that do not interleave with an append (the replica timer, a direct get): replication keeps
    /// per-replica state that one round at a time may change.
    /// </summary>
    /// <remarks>
    /// This is also the start rule of a primary: a promoted replica, or a primary whose silo restarted, begins with
    /// nothing committed, and serves readers only what it has since brought to every in-sync replica (a quorum with it).
    /// What it holds was stored by the old primary, but not necessarily on a quorum (the old primary may have died
    /// mid-round); taking it as committed would let a second failover, to a replica without it, reuse those sequences
    /// under a reader that already saw them. Committed keeps its meaning for acks: on every in-sync replica and a quorum.
    /// </remarks>
    private async Task CommitTailAsync()
    {
        var replication = _replication!;
        if (_log is null || replication.Fenced)
            return;
        ulong before = replication.Committed;
        ulong last;
        if (_log.TryGetState(out var known))
            last = known.LastSequence;
        else
            using (var lease = await UseLogAsync())
                last = lease.Log.State.LastSequence;
        if (last > before)
        {
            try
            {
                if (await replication.ReplicateAsync(_log, null, last) is { } error)
                    logger.LogDebug("Stream {Stream}: messages after {Committed} are not on the replicas yet: {Reason}", Key, replication.Committed, error.Description);
            }
            catch (Exception ex)
            {
                logger.LogWarning("Stream {Stream}: replicating messages after {Committed} failed: {Reason}", Key, replication.Committed, ex.Message);
            }
        }
        AdvanceReaders(before);
    }

    /// <summary>Wakes the consumers waiting for messages when the committed sequence moved past <paramref name="before"/>.</summary>
    private void AdvanceReaders(ulong before)
    {
        var replication = _replication!;
        if (replication.Committed > before)
            signals.Advance(Key, replication.Committed);
        if (replication.Fenced)
            DeactivateOnIdle();
    }

    /// <summary>
    /// For the reads that pick where a consumer starts (last per subject, a start time): completes once
    /// <paramref name="sequence"/> is committed, so the answer read from the log holds after any failover. Those reads
    /// interleave with appends and cannot replicate themselves; the append in progress or the replica timer does.
    /// </summary>
    /// <exception cref="StreamOfflineException">Not committed within the timeout: the replicas are no quorum.</exception>
    private async Task WaitCommittedAsync(ulong sequence)
    {
        var replication = _replication!;
        var deadline = DateTime.UtcNow + CommitWaitTimeout;
        while (replication.Committed < sequence)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || replication.Fenced)
                throw new StreamOfflineException(Name, "its replicas do not hold its last messages (no quorum)");
            ulong committed = replication.Committed;
            await signals.WaitBeyondAsync(Key, committed, left);
            // The watermark of this silo can be ahead of a new primary's committed sequence (it was primary before):
            // then the wait returns at once, and a short pause keeps this from spinning.
            if (replication.Committed == committed)
                await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }
}
