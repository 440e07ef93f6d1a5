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
    /// <summary>
    /// How long a pipelined batch's acks wait for its round: a replica call gives up after 5 s, and a failed round is
    /// put right by a round one at a time (a catalog change of the in-sync set) before its waiters hear.
    /// </summary>
    private static readonly TimeSpan ReplicaWaitTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The turn that puts right what a failed pipelined round left, due at once; null when none is due.</summary>
    private IGrainTimer? _repairTimer;

    /// <summary>Messages the log removed one by one since the last replication round (<see cref="Storage.IMessageLog.RemovedInto"/>).</summary>
    private readonly List<ulong> _removed = [];
    /// <summary>The first sequence the last round told the replicas.</summary>
    private ulong _shippedFirst;

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
        ulong before = replication.Committed;
        if (_log is null || replication.Fenced || replication.Pipelining)
        {
            // Rounds on the way commit the tail themselves, or fail and call for a repair.
            AdvanceReaders(before);
            return;
        }
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

    /// <summary>
    /// A pipelined round failed (or found this primary replaced): a turn of its own, not interleaved with appends,
    /// replicates the tail one round at a time, which checks and catches up the replicas or shrinks the in-sync set,
    /// and so answers the waiting acks. Called from the round's settling, on this grain's scheduler.
    /// </summary>
    private void RepairReplicationSoon()
    {
        if (_repairTimer is not null)
            return;
        _repairTimer = this.RegisterGrainTimer(static (self, _) =>
        {
            self._repairTimer?.Dispose();
            self._repairTimer = null;
            return self._moving ? Task.CompletedTask : self.CommitTailAsync();
        }, this, new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = Timeout.InfiniteTimeSpan, KeepAlive = false });
    }

    /// <summary>
    /// Reads the whole log back against its checksums before this primary serves, as a replica does when it opens: the
    /// replicas hold their own copies, so a bit flipped on this disk would reach no replica but every reader. A damaged
    /// primary asks the catalog to promote a whole in-sync replica and fails its activation, so calls go to the new
    /// primary; this node's copy is then rebuilt from it as a replica, which finds the damage again and puts the log
    /// aside. Without a whole replica the stream stays offline.
    /// </summary>
    /// <remarks>The read costs about what the replicas' own check costs at their activation, once per activation.</remarks>
    private async Task StepDownIfDamagedAsync(CatalogEntry entry)
    {
        var damage = await _log!.FindDamageAsync();
        if (damage is null)
            return;
        logger.LogError("Stream {Stream}: this primary's log on {Node} is damaged ({Damage}); it steps down", Name, node.Name, damage);
        _replicaTimer?.Dispose();
        store.OpenLogs.Unregister(Key, _log!);
        await _log!.DisposeAsync();
        _log = null;
        bool replaced = await GrainFactory.GetGrain<IStreamCatalogGrain>(0).StepDown(Name, entry.Replicas!.Epoch, node.Name);
        throw new StreamOfflineException(Name, replaced
            ? $"its primary's log on {node.Name} is damaged; a replica takes over"
            : $"its primary's log on {node.Name} is damaged and no whole replica answered");
    }

    /// <summary>The removals a round about to start carries (each is sent once: a replica that misses a round is told them all when it is next checked).</summary>
    private ulong[]? TakeRemoved(Storage.LogState state)
    {
        _shippedFirst = state.FirstSequence;
        if (_removed.Count == 0)
            return null;
        ulong[] removed = [.. _removed];
        _removed.Clear();
        return removed;
    }

    /// <summary>
    /// Sends what a purge, a delete, an ack of a work queue or a limit removed outside an append to the replicas before
    /// the turn ends, so a promoted replica does not bring those messages back; null when they hold it (or there is
    /// nothing to send, or the stream has one copy).
    /// </summary>
    private async Task<ApiError?> ReplicateRemovalsAsync()
    {
        if (_replication is not { } replication || _log is null || !_log.TryGetState(out var state)
            || _removed.Count == 0 && state.FirstSequence == _shippedFirst)
            return null;
        var batch = new Replication.ReplicaBatch(replication.Set.Epoch, state.LastSequence, state.FirstSequence, state.LastSequence, [], 0, 0, [], [], TakeRemoved(state));
        ulong before = replication.Committed;
        ApiError? error;
        try
        {
            error = await replication.ReplicateRemovalsAsync(_log, batch);
        }
        catch (Exception ex)
        {
            error = ApiError.StoreFailed($"stream replication failed: {ex.Message}");
        }
        if (error is not null)
            logger.LogWarning("Stream {Stream}: removals are not on every replica: {Reason}", Key, error.Description);
        AdvanceReaders(before);
        return error;
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
    /// Stream info of a replicated stream counts only committed messages, as nats-server's leader answers from what its
    /// log applied: a count that took in the primary's uncommitted tail could go back after a failover that truncates
    /// it. The info read before the wait is answered once its last sequence is committed (one replication round, or
    /// the stream is offline); the log may hold more by then, which the next info counts.
    /// </summary>
    private Task WaitInfoCommittedAsync(Storage.LogState state)
        => _replication is { } replication && state.LastSequence > replication.Committed ? WaitCommittedAsync(state.LastSequence) : Task.CompletedTask;

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
