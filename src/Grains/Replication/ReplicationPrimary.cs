using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Platform.Grains.Cluster;
using Platform.Grains.Storage;
using Platform.Grains.Streams;

namespace Platform.Grains.Replication;

/// <summary>
/// The primary's side of a replicated stream, kept by its stream grain: sends each stored batch to every in-sync
/// replica and says whether it may be acknowledged, asks the catalog to drop a replica that fails (a new epoch)
/// before going on without it, and catches up replicas that are out of sync until the catalog takes them back.
/// </summary>
/// <remarks>
/// Acknowledged means on the primary and on every in-sync replica, and they are at least a quorum. A replica refuses
/// an older epoch, and an in-sync set can only change through the catalog at the current epoch: a primary that was
/// replaced learns it from either before it can acknowledge anything (<see cref="Fenced"/>).
/// <para>
/// Rounds are pipelined while all goes well (<see cref="TryPipeline"/>): a batch is sent to every in-sync replica as
/// soon as it is stored, in order, and its round is settled after the one before it, so a stream has several batches
/// on the way to its replicas instead of one round trip at a time. Anything out of the ordinary (a replica to check
/// or catch up, a failure, a change of the in-sync set) goes the one-round-at-a-time way, after the rounds on the way
/// have settled (<see cref="DrainAsync"/>).
/// </para>
/// </remarks>
/// <param name="committed">Told the committed sequence whenever a pipelined round moves it (readers wait for it).</param>
/// <param name="broken">Called when a pipelined round failed or found this primary replaced: the stream grain then runs
/// a round one at a time (<see cref="ReplicateAsync"/>) in a turn of its own, which answers the waiting acks.</param>
internal sealed class ReplicationPrimary(string stream, ReplicaSet set, IGrainFactory grains, IClusterMembershipService membership, ILogger logger,
    Action<ulong> committed, Action broken)
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);
    private const int CatchUpRecords = 256;
    private static readonly TimeSpan CatchUpWarningInterval = TimeSpan.FromSeconds(30);

    private sealed class Follower(IReplicaGrain grain)
    {
        public readonly IReplicaGrain Grain = grain;
        /// <summary>The end of the replica's log, once this primary has checked that it is a prefix of its own.</summary>
        public ulong? Last;
        /// <summary>Where the replica's log ends once the batches on the way to it are in: the next batch starts there.</summary>
        public ulong Sent;
        public long SeenAt;
        /// <summary>When a failure to catch it up was last logged as a warning.</summary>
        public long WarnedAt;
    }

    /// <summary>
    /// At most this many pipelined rounds on the way: past it a batch waits for them, which holds the publishers back
    /// (the gateway keeps up to 8 batches in flight per connection).
    /// </summary>
    private const int MaxRoundsInFlight = 32;

    private readonly Dictionary<string, Follower> _followers = Followers(stream, set, grains);
    private ReplicaSet _set = set;
    /// <summary>The last pipelined round's settling; it never fails.</summary>
    private Task _rounds = Task.CompletedTask;
    private int _inFlight;
    /// <summary>A pipelined round failed: no more are started until a round one at a time has put things right.</summary>
    private bool _broken;
    /// <summary>The last round that failed: what it was to commit, and why not.</summary>
    private (ulong UpTo, ApiError Error)? _failed;
    /// <summary>Callers waiting for a sequence to be committed (a few: about one per pipelined round).</summary>
    private readonly List<(ulong Sequence, TaskCompletionSource<ApiError?> Done)> _waiters = [];

    /// <summary>Everything up to here is on every in-sync replica and a quorum.</summary>
    public ulong Committed { get; private set; }

    /// <summary>A newer epoch exists: this primary was replaced and must acknowledge nothing more.</summary>
    public bool Fenced { get; private set; }

    public ReplicaSet Set => _set;

    /// <summary>Pipelined rounds are on the way and none has failed: they commit what was stored before them.</summary>
    public bool Pipelining => _inFlight > 0 && !_broken;

    private static Dictionary<string, Follower> Followers(string stream, ReplicaSet set, IGrainFactory grains)
    {
        var followers = new Dictionary<string, Follower>(StringComparer.Ordinal);
        foreach (var node in set.Nodes)
            followers[node] = new Follower(grains.GetGrain<IReplicaGrain>(ReplicaKey.Of(stream, node)));
        return followers;
    }

    /// <summary>
    /// Brings every in-sync replica to <paramref name="target"/>, the primary's last sequence, with
    /// <paramref name="batch"/> (what was just stored after <see cref="ReplicaBatch.PreviousLast"/>) or from the log;
    /// null when everything up to <paramref name="target"/> may be acknowledged, else the error for the acks.
    /// </summary>
    public async Task<ApiError?> ReplicateAsync(StreamLog log, ReplicaBatch? batch, ulong target)
    {
        await DrainAsync();
        if (Fenced)
            return Settle(NotPrimary);
        if (target <= Committed)
            return null;
        return Settle(await RoundAsync(log, batch, target), target);
    }

    /// <summary>
    /// Sends removals the primary made outside an append (<paramref name="removals"/>, a batch of no messages) to every
    /// in-sync replica, with what they lack of the log; null when they all took them, else the error for the request.
    /// </summary>
    public async Task<ApiError?> ReplicateRemovalsAsync(StreamLog log, ReplicaBatch removals)
    {
        await DrainAsync();
        return Settle(Fenced ? NotPrimary : await RoundAsync(log, removals, removals.Last), removals.Last);
    }

    /// <summary>
    /// Sends a batch just stored to every in-sync replica without waiting for their answers, when nothing stands in the
    /// way: every in-sync replica checked and ending, with the batches already sent to it, where this one starts. The
    /// round settles after the ones before it; <see cref="CommittedAsync"/> tells when its messages may be acknowledged.
    /// False when the batch must go the one-round-at-a-time way (<see cref="ReplicateAsync"/>).
    /// </summary>
    public bool TryPipeline(ReplicaBatch batch)
    {
        if (Fenced || _broken || _inFlight >= MaxRoundsInFlight || _set.InSync.Length + 1 < _set.Quorum)
            return false;
        foreach (var node in _set.InSync)
            if (_followers[node] is not { Last: not null } follower || follower.Sent != batch.PreviousLast)
                return false;
        var calls = new (Follower Follower, Task<ReplicaAck> Call)[_set.InSync.Length];
        for (int i = 0; i < calls.Length; i++)
        {
            var follower = _followers[_set.InSync[i]];
            calls[i] = (follower, follower.Grain.Append(batch).WaitAsync(CallTimeout));
            follower.Sent = batch.Last;
        }
        _inFlight++;
        _rounds = SettleRoundAsync(_rounds, calls, batch.Last);
        return true;
    }

    /// <summary>Completes once every round on the way has settled.</summary>
    public Task DrainAsync() => _rounds;

    /// <summary>
    /// For a stream that closes here (deleted, moving): waits for the rounds on the way, then answers whoever still
    /// waits for a sequence they did not commit with <paramref name="error"/> rather than leave them to their timeout.
    /// </summary>
    public async Task CloseAsync(ApiError error)
    {
        await DrainAsync();
        Settle(error, ulong.MaxValue);
    }

    /// <summary>
    /// Completes with null once <paramref name="sequence"/> is committed, or with the error of the round that could not
    /// commit it; a wait past <paramref name="timeout"/> ends with an error too (the replicas did not answer).
    /// </summary>
    public async Task<ApiError?> CommittedAsync(ulong sequence, TimeSpan timeout)
    {
        if (sequence <= Committed)
            return null;
        if (Fenced)
            return NotPrimary;
        // Its round failed before this wait began (the waiter comes once the storing turn has answered).
        if (_failed is { } failed && sequence <= failed.UpTo)
            return failed.Error;
        var done = new TaskCompletionSource<ApiError?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters.Add((sequence, done));
        try
        {
            return await done.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            return sequence <= Committed ? null : Unanswered;
        }
    }

    /// <summary>
    /// Settles a pipelined round once the one before it has: commits its batch if every replica it went to took it,
    /// else leaves the waiters to the round one at a time that the stream grain runs next (<c>broken</c>).
    /// </summary>
    private async Task SettleRoundAsync(Task previous, (Follower Follower, Task<ReplicaAck> Call)[] calls, ulong target)
    {
        await previous;
        try
        {
            await SettleAsync(calls, target);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Stream {Stream}: settling a replication round failed", stream);
            _broken = true;
            broken();
        }
        finally
        {
            _inFlight--;
        }
    }

    private async Task SettleAsync((Follower Follower, Task<ReplicaAck> Call)[] calls, ulong target)
    {
        bool failed = false;
        foreach (var (follower, call) in calls)
        {
            ReplicaAck? ack = null;
            try
            {
                ack = await call;
            }
            catch (Exception ex)
            {
                logger.LogWarning("A replica of stream {Stream} failed: {Reason}", stream, ex.Message);
            }
            // One that missed a batch refuses the ones after it; it is checked again before it gets another.
            if (ack is { } answer && Heard(follower, answer) && answer.Accepted && follower.Last is not null)
                follower.Last = answer.LastSequence;
            else
            {
                follower.Last = null;
                failed = true;
            }
        }
        if (Fenced)
        {
            Settle(NotPrimary);
            broken();
            return;
        }
        if (failed || _broken)
        {
            _broken = true;
            broken();
            return;
        }
        Committed = Math.Max(Committed, target);
        Settle(null);
        committed(Committed);
    }

    /// <summary>
    /// Answers the waiters: those up to the committed sequence with null, the rest with <paramref name="error"/> when
    /// there is one (the round that failed, up to <paramref name="upTo"/>, was to carry them). Returns <paramref name="error"/>.
    /// </summary>
    private ApiError? Settle(ApiError? error, ulong upTo = 0)
    {
        if (error is not null && upTo > Committed)
            _failed = (upTo, error);
        for (int i = _waiters.Count - 1; i >= 0; i--)
        {
            var (sequence, done) = _waiters[i];
            if (sequence > Committed && error is null)
                continue;
            done.TrySetResult(sequence <= Committed ? null : error);
            _waiters[i] = _waiters[^1];
            _waiters.RemoveAt(_waiters.Count - 1);
        }
        return error;
    }

    private async Task<ApiError?> RoundAsync(StreamLog log, ReplicaBatch? batch, ulong target)
    {
        // This round settles whatever a failed pipelined one left: the next batch may be pipelined again.
        _broken = false;
        // Promoted with fewer in-sync replicas than a quorum: nothing is acknowledged until enough have caught up. The
        // in-sync ones did not get this round's removals: they are checked (and told them) at the next contact.
        if (_set.InSync.Length + 1 < _set.Quorum)
        {
            foreach (var node in _set.InSync)
                _followers[node].Last = null;
            return NoQuorum;
        }
        var calls = new List<(string Node, Task<bool> Call)>(_set.InSync.Length);
        foreach (var node in _set.InSync)
            calls.Add((node, SendAsync(node, log, batch, target)));
        List<string>? failed = null;
        foreach (var (node, call) in calls)
        {
            bool ok;
            try
            {
                ok = await call;
            }
            catch (Exception ex)
            {
                logger.LogWarning("Replica {Node} of stream {Stream} failed: {Reason}", node, stream, ex.Message);
                ok = false;
            }
            if (ok)
                continue;
            (failed ??= []).Add(node);
            // Checked again at the next contact, which also tells it every removal it may have missed.
            _followers[node].Last = null;
        }
        if (Fenced)
            return NotPrimary;
        if (failed is not null)
        {
            // The acks wait for the in-sync set to shrink: a new epoch the catalog writes only while this primary's
            // epoch is current and the rest are still a quorum.
            var smaller = await grains.GetGrain<IStreamCatalogGrain>(0).ChangeInSync(stream, _set.Epoch, [.. failed], []);
            if (smaller is null)
                return await CheckFencedAsync() ? NotPrimary : NoQuorum;
            logger.LogWarning("Stream {Stream} goes on without replicas {Nodes} at epoch {Epoch}", stream, string.Join(", ", failed), smaller.Epoch);
            Adopt(smaller);
        }
        Committed = target;
        return null;
    }

    /// <summary>
    /// Catches up one replica that is out of sync, and once it holds everything the primary has, asks the catalog to
    /// take it back in sync (the grain's turn keeps appends out meanwhile). Called by the stream grain's timer. In-sync
    /// replicas this primary has not heard from yet (a new primary, a quiet stream) are caught up first, so stream
    /// info reports them as they are; a failure here is left to the next publish to act on.
    /// </summary>
    public async Task CatchUpOneAsync(StreamLog log)
    {
        if (Fenced || !NeedsCatchUp())
            return;
        await DrainAsync();
        if (Fenced)
            return;
        foreach (var node in _set.InSync)
        {
            if (_followers[node].Last is not null || membership.Find(node) is null)
                continue;
            try
            {
                await SendAsync(node, log, null, log.State.LastSequence);
            }
            catch (Exception ex)
            {
                _followers[node].Last = null;
                logger.LogDebug("Replica {Node} of stream {Stream} did not answer: {Reason}", node, stream, ex.Message);
            }
            if (Fenced)
                return;
        }
        foreach (var node in _set.Nodes)
        {
            // A node that is not up is not called: placement would only refuse, once a second.
            if (_set.IsInSync(node) || membership.Find(node) is null)
                continue;
            ulong target = log.State.LastSequence;
            try
            {
                if (!await SendAsync(node, log, null, target) || Fenced)
                    continue;
                var larger = await grains.GetGrain<IStreamCatalogGrain>(0).ChangeInSync(stream, _set.Epoch, [], [node]);
                if (larger is null)
                {
                    await CheckFencedAsync();
                    return;
                }
                logger.LogInformation("Replica {Node} of stream {Stream} is in sync again at epoch {Epoch}", node, stream, larger.Epoch);
                Adopt(larger);
                // The others in sync may lack the tail of a round that failed: then the next round commits it.
                if (AllInSyncHold(target))
                {
                    Committed = Math.Max(Committed, target);
                    Settle(null);
                }
            }
            catch (Exception ex)
            {
                _followers[node].Last = null;
                // Once a second while it lasts: said at warning level every 30 s, since a node that is up but cannot be
                // caught up keeps the stream a copy short.
                var level = Stopwatch.GetElapsedTime(_followers[node].WarnedAt) > CatchUpWarningInterval ? LogLevel.Warning : LogLevel.Debug;
                if (level == LogLevel.Warning)
                    _followers[node].WarnedAt = Stopwatch.GetTimestamp();
                logger.Log(level, "Replica {Node} of stream {Stream} could not catch up: {Reason}", node, stream, ex.Message);
            }
            return;
        }
    }

    /// <summary>Whether a replica that is up is out of sync or not checked yet (checked without waiting for the rounds on the way).</summary>
    private bool NeedsCatchUp()
    {
        foreach (var node in _set.Nodes)
            if (membership.Find(node) is not null && (!_set.IsInSync(node) || _followers[node].Last is null))
                return true;
        return false;
    }

    private bool AllInSyncHold(ulong sequence)
    {
        foreach (var node in _set.InSync)
            if (_followers[node].Last is not { } last || last < sequence)
                return false;
        return _set.InSync.Length + 1 >= _set.Quorum;
    }

    /// <summary>The replicas for stream info, measured against the primary's last sequence.</summary>
    public ReplicaPeer[] Peers(ulong last)
    {
        var peers = new ReplicaPeer[_set.Nodes.Length];
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < peers.Length; i++)
        {
            var node = _set.Nodes[i];
            var follower = _followers[node];
            var lag = follower.Last is { } at && at <= last ? last - at : last;
            var active = follower.SeenAt == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(follower.SeenAt, now);
            peers[i] = new ReplicaPeer(node, _set.IsInSync(node) && lag == 0, active, lag);
        }
        return peers;
    }

    private static readonly ApiError NotPrimary = ApiError.StoreFailed("stream replica set changed: this node is no longer its leader");
    private static readonly ApiError NoQuorum = ApiError.StoreFailed("stream replicas unavailable: no quorum");
    private static readonly ApiError Unanswered = ApiError.StoreFailed("stream replicas did not answer in time");

    private void Adopt(ReplicaSet next)
    {
        _set = next;
        foreach (var node in next.Nodes)
            if (!_followers.ContainsKey(node))
                _followers[node] = new Follower(grains.GetGrain<IReplicaGrain>(ReplicaKey.Of(stream, node)));
    }

    /// <summary>Stops this primary for good; said once, as it ends the stream's replication from this node.</summary>
    private void Fence(string reason)
    {
        if (Fenced)
            return;
        Fenced = true;
        logger.LogWarning("Stream {Stream}: this primary at epoch {Epoch} is replaced ({Reason}) and acknowledges nothing more", stream, _set.Epoch, reason);
    }

    /// <summary>Whether the catalog has moved past this primary's epoch (then it is <see cref="Fenced"/>).</summary>
    private async Task<bool> CheckFencedAsync()
    {
        var entry = await grains.GetGrain<IStreamCatalogGrain>(0).Get(stream);
        if (entry?.Replicas is not { } current || current.Epoch != _set.Epoch)
            Fence(entry?.Replicas is { } known ? $"the catalog is at epoch {known.Epoch}" : "the catalog has no replica set for it");
        return Fenced;
    }

    /// <summary>
    /// Brings one replica to <paramref name="target"/>: the batch alone when the replica ends where it started,
    /// otherwise from the log (after checking, the first time, that the replica's log is a prefix of this one's,
    /// and resetting it when it is not). False when the replica refused or could not be reached in time.
    /// </summary>
    private async Task<bool> SendAsync(string node, StreamLog log, ReplicaBatch? batch, ulong target)
    {
        var follower = _followers[node];
        if (follower.Last is null && !(await CheckPrefixAsync(node, follower, log) && await ReconcileAsync(follower, log)))
            return false;
        if (batch is not null && follower.Last == batch.PreviousLast)
        {
            if (!Answered(follower, await follower.Grain.Append(batch).WaitAsync(CallTimeout)))
                return false;
        }
        else if (batch?.Removed is { } removed)
        {
            // What the log gives a replica that is behind holds no removals of what it has already: sent after it.
            if (!await CatchUpAsync(follower, log, target))
                return false;
            var removals = new ReplicaBatch(_set.Epoch, target, batch.PrimaryFirst, target, [], 0, 0, [], [], removed);
            return Answered(follower, await follower.Grain.Append(removals).WaitAsync(CallTimeout)) && follower.Last == target;
        }
        return await CatchUpAsync(follower, log, target);
    }

    private async Task<bool> CatchUpAsync(Follower follower, StreamLog log, ulong target)
    {
        while (follower.Last < target)
        {
            var next = await ReadAsync(log, follower.Last.Value, target);
            if (!Answered(follower, await follower.Grain.Append(next).WaitAsync(CallTimeout)))
                return false;
        }
        return follower.Last == target;
    }

    private bool Answered(Follower follower, ReplicaAck ack)
    {
        if (!Heard(follower, ack))
            return false;
        // A replica whose log does not end where the batch starts is checked again before the next one.
        follower.Last = ack.Accepted ? ack.LastSequence : null;
        // Called with no pipelined round on the way: the next one starts where the replica's log ends.
        follower.Sent = follower.Last ?? 0;
        return ack.Accepted;
    }

    /// <summary>Notes that a replica answered; false when the answer shows this primary replaced (it is then <see cref="Fenced"/>).</summary>
    private bool Heard(Follower follower, ReplicaAck ack)
    {
        follower.SeenAt = Stopwatch.GetTimestamp();
        if (ack.Epoch <= _set.Epoch)
            return true;
        Fence($"a replica is at epoch {ack.Epoch}");
        return false;
    }

    /// <summary>
    /// Learns where a replica's log ends and whether it is a prefix of the primary's: its last message must be the
    /// primary's message at that sequence (same timestamp). One that ends past the primary, or differs, holds messages
    /// that were never acknowledged (a former primary's tail): it is reset to start at the primary's first sequence.
    /// </summary>
    private async Task<bool> CheckPrefixAsync(string node, Follower follower, StreamLog log)
    {
        var ack = await follower.Grain.Fence(_set.Epoch).WaitAsync(CallTimeout);
        if (!Answered(follower, ack))
            return false;
        if (ack.NewCopy && !await RenewAsync(node))
            return false;
        LogState state;
        bool same;
        using (var lease = await log.UseAsync())
        {
            state = lease.Log.State;
            same = ack.LastSequence <= state.LastSequence
                   && (ack.LastSequence < state.FirstSequence
                       || ack.LastTimestampNanos != 0 && lease.Log.TryGet(ack.LastSequence, out var record) && record.TimestampNanos == ack.LastTimestampNanos);
        }
        if (same && !ack.Damaged && !ack.NewCopy)
            return true;
        if (ack.Damaged || ack.NewCopy)
            logger.LogWarning("Replica {Node} of stream {Stream} is {What}: rebuilding it from the primary's log",
                node, stream, ack.Damaged ? "damaged" : "a new copy");
        else
            logger.LogWarning("Replica of stream {Stream} ends at {Last}, not a prefix of the primary's log (last {PrimaryLast}): resetting it",
                stream, ack.LastSequence, state.LastSequence);
        return Answered(follower, await follower.Grain.Reset(_set.Epoch, state.FirstSequence).WaitAsync(CallTimeout));
    }

    /// <summary>
    /// Has the catalog record a replica's new store (a wiped disk) as its copy, out of sync at the next epoch, before
    /// the copy is rebuilt: the old copy is gone, and the new one counts for nothing until it has caught up.
    /// </summary>
    private async Task<bool> RenewAsync(string node)
    {
        var renewed = await grains.GetGrain<IStreamCatalogGrain>(0).RenewReplica(stream, _set.Epoch, node);
        if (renewed is null)
        {
            await CheckFencedAsync();
            return false;
        }
        logger.LogWarning("Replica {Node} of stream {Stream} holds a new copy at epoch {Epoch}", node, stream, renewed.Epoch);
        Adopt(renewed);
        return true;
    }

    /// <summary>
    /// Tells a replica whose log was just checked every removal the primary made in what it holds (it may have missed
    /// rounds, or come back from being out of sync): the first sequence and every message deleted since.
    /// </summary>
    private async Task<bool> ReconcileAsync(Follower follower, StreamLog log)
    {
        ulong held = follower.Last!.Value;
        ulong first;
        var removed = new List<ulong>();
        using (var lease = await log.UseAsync())
        {
            first = lease.Log.State.FirstSequence;
            foreach (var sequence in lease.Log.DeletedSequences)
            {
                if (sequence > held)
                    break;
                removed.Add(sequence);
            }
        }
        if (removed.Count == 0 && first <= 1)
            return true;
        var batch = new ReplicaBatch(_set.Epoch, held, Math.Min(first, held + 1), held, [], 0, 0, [], [], [.. removed]);
        return Answered(follower, await follower.Grain.Append(batch).WaitAsync(CallTimeout));
    }

    /// <summary>The primary's messages after <paramref name="after"/>, up to a chunk, framed as a batch.</summary>
    private async Task<ReplicaBatch> ReadAsync(StreamLog log, ulong after, ulong target)
    {
        var records = new List<LogRecord>(CatchUpRecords);
        ulong first;
        using (var lease = await log.UseAsync())
        {
            first = lease.Log.State.FirstSequence;
            lease.Log.Read(after + 1, CatchUpRecords, 0, null, records);
        }
        // A full chunk that stops before the target ends at its last message; otherwise nothing more is stored up to
        // the target (deleted), and the chunk ends there.
        bool more = records.Count == CatchUpRecords && records[^1].Sequence < target;
        while (records.Count > 0 && records[^1].Sequence > target)
            records.RemoveAt(records.Count - 1);
        ulong last = more ? records[^1].Sequence : target;
        int size = 0;
        foreach (var r in records)
            size += PublishFrames.FrameSize(r.SubjectBytes.Length, r.Headers.Length, r.Payload.Length);
        var frames = new byte[size];
        var sequences = new ulong[records.Count];
        var timestamps = new long[records.Count];
        int offset = 0;
        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            PublishFrames.WriteHeader(frames.AsSpan(offset), r.SubjectBytes.Length, r.Headers.Length, r.Payload.Length);
            offset += PublishFrames.FrameHeaderSize;
            r.SubjectBytes.CopyTo(frames.AsSpan(offset));
            offset += r.SubjectBytes.Length;
            r.Headers.CopyTo(frames.AsSpan(offset));
            offset += r.Headers.Length;
            r.Payload.CopyTo(frames.AsSpan(offset));
            offset += r.Payload.Length;
            sequences[i] = r.Sequence;
            timestamps[i] = r.TimestampNanos;
        }
        return new ReplicaBatch(_set.Epoch, after, first, last, frames, size, records.Count, sequences, timestamps);
    }
}
