using Microsoft.Extensions.Logging;
using Platform.Grains.Cluster;
using Platform.Grains.Consumers;
using Platform.Grains.Node;
using Platform.Grains.Storage;
using Platform.Grains.Streams;

namespace Platform.Grains.Replication;

/// <summary>
/// A stream's copy on one node that is not its primary: appends the primary's batches to its own log (in the same
/// place the stream grain's log would be, so a promoted copy is opened by the stream grain as it is) and commits them
/// as the node's sync setting asks before it answers. It activates only on a node the catalog names as a replica with
/// the data it holds, never on the primary's node.
/// </summary>
[NodePinnedPlacement]
internal sealed class ReplicaGrain(StreamStore store, NodeIdentity node, CatalogView catalog, LocalReplicas local, ILogger<ReplicaGrain> logger)
    : Grain, IReplicaGrain
{
    /// <summary>The subject of a placeholder, which is deleted as soon as it is appended.</summary>
    private static ReadOnlySpan<byte> GapSubject => "_gap"u8;

    private static readonly TimeSpan HeldSavePeriod = TimeSpan.FromSeconds(1);

    private PlatformStreamConfig _config = null!;
    private string _directory = "";
    private StreamLog? _log;
    private long _epoch;
    /// <summary>The highest sequence this copy took in; on disk at most a second later (<see cref="_savedHeld"/>).</summary>
    private ulong _held;
    private ulong _savedHeld;
    /// <summary>Why the log cannot be trusted (it did not open, or a message fails its checksum); null when it can.</summary>
    private string? _damage;
    /// <summary>This node's store is not the one the catalog made the copy on: it holds nothing of the stream yet.</summary>
    private bool _newCopy;
    /// <summary>The stream was deleted: nothing is written here again.</summary>
    private bool _deleted;
    private IGrainTimer? _heldTimer;
    /// <summary>
    /// Batches that came before the batch they follow: the primary sends them in order without waiting for answers, but
    /// Orleans sends calls between two silos over either of their two connections, and a 3-silo R3 run at 29.5k msgs/s
    /// saw hundreds a second overtake the one before. Refusing one cost the primary a round one at a time with every
    /// ack waiting. One waits here for at most <see cref="EarlyBatchWait"/>; given up when the log closes or a newer
    /// epoch comes.
    /// </summary>
    private readonly PositionWaiters _early = new(EarlyBatchWait);

    /// <summary>
    /// A predecessor that is only overtaken arrives within milliseconds; one that does not come was lost or belongs to a
    /// primary that is gone, and the batch is refused as before. Well under the primary's 5 s call timeout.
    /// </summary>
    internal static readonly TimeSpan EarlyBatchWait = TimeSpan.FromMilliseconds(500);
    /// <summary>
    /// The consumer copies this activation wrote: their generation and the journal bytes after its header. A copy it
    /// does not know (written before a restart) is started over from the primary's snapshot.
    /// </summary>
    private readonly Dictionary<string, (ulong Generation, long Length)> _consumers = new(StringComparer.Ordinal);

    private string Stream => ReplicaKey.Parse(this.GetPrimaryKeyString()).Stream;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (stream, name) = ReplicaKey.Parse(this.GetPrimaryKeyString());
        var entry = await catalog.FindAsync(stream, RequestContext.Get(CatalogView.EntryHint));
        if (name != node.Name || entry?.Replicas is not { } set || entry.HomeOf(0) == node.Name)
            throw new StreamOfflineException(stream, $"{node.Name} holds no replica of it");
        _config = entry.Config;
        _directory = store.PartitionDirectory(stream, 0);
        if (set.DataIdOf(node.Name) != node.DataId)
        {
            // A wiped disk, or another store in its place: whatever is here is not the copy the catalog knows.
            _newCopy = true;
            PutAside("unknown");
            logger.LogWarning("Replica of stream {Stream} on {Node}: this store is not the one it was made on; it starts over as a new copy", stream, node.Name);
        }
        else
        {
            LoadPromises(set.Epoch);
        }
        await OpenCheckedAsync();
        local.Add(stream);
        _heldTimer = this.RegisterGrainTimer(static (self, _) =>
            {
                self.SaveHeld();
                return Task.CompletedTask;
            }, this,
            new GrainTimerCreationOptions { DueTime = HeldSavePeriod, Period = HeldSavePeriod, KeepAlive = false });
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _heldTimer?.Dispose();
        local.Remove(Stream);
        if (_log is not null)
            await _log.DisposeAsync();
        _log = null;
        SaveHeld();
    }

    private void Open() => _log = new StreamLog(store.LogOptions(_config, 0), store.LogBudget, store.Preopener.Take(_directory));

    private void LoadPromises(long catalogEpoch)
    {
        try
        {
            (_epoch, _held) = ReplicaEpochFile.Load(_directory);
            _savedHeld = _held;
        }
        catch (InvalidDataException ex)
        {
            // The epoch it fenced is lost; the catalog's is as new as any a primary that may still act was given.
            _epoch = catalogEpoch;
            _damage = ex.Message;
        }
    }

    /// <summary>
    /// Opens the log and reads every message back against its checksum. A log that does not open or holds a damaged
    /// message is put aside (never deleted) and an empty one takes its place; the copy stays damaged, promoted by no
    /// one and taking nothing, until the primary resets it.
    /// </summary>
    private async Task OpenCheckedAsync()
    {
        Open();
        _damage ??= await _log!.FindDamageAsync();
        if (_damage is null && _log!.State.LastSequence < _held)
            logger.LogWarning("Replica of stream {Stream} on {Node} ends at {Last}, below the {Held} it held: its log was cut, and it is not promoted until it has caught up",
                Stream, node.Name, _log.State.LastSequence, _held);
        if (_damage is null)
            return;
        logger.LogError("Replica of stream {Stream} on {Node} is damaged ({Damage}): it is not promoted until its primary has rebuilt it",
            Stream, node.Name, _damage);
        await _log!.DisposeAsync();
        _log = null;
        PutAside("damaged");
        SaveHeld(force: true);
        Open();
    }

    /// <summary>Renames the copy's directory beside it, kept for an operator: it may hold messages no other copy has.</summary>
    private void PutAside(string why)
    {
        if (!Directory.Exists(_directory))
            return;
        var aside = $"{_directory}.{why}-{_epoch}-{DateTime.UtcNow:yyyyMMddHHmmssfff}";
        Directory.Move(_directory, aside);
        logger.LogWarning("Replica of stream {Stream}: its log was put aside as {Aside}", Stream, aside);
    }

    private void SaveHeld(bool force = false)
    {
        if (_deleted || !force && _held == _savedHeld)
            return;
        ReplicaEpochFile.Save(_directory, _epoch, _held);
        _savedHeld = _held;
    }

    public async Task Create(long epoch)
    {
        Adopt(epoch);
        if (_config.Storage == StorageType.File)
            store.SaveMeta(new StreamMeta(_config, DateTime.UtcNow));
        using var lease = await UseLogAsync();
        if (_config.FirstSeq > 0 && lease.Log.State.LastSequence == 0)
            lease.Log.SetNextSequence(_config.FirstSeq);
    }

    public async Task<ReplicaAck> Append(ReplicaBatch batch)
    {
        if (batch.Epoch < _epoch)
            return await AnswerAsync(false);
        Adopt(batch.Epoch);
        using var lease = await UseLogAsync();
        var log = lease.Log;
        do
            await log.WaitForCapacityAsync();
        while (Taking(batch) && log.State.LastSequence < batch.PreviousLast && await _early.WaitAsync(batch.PreviousLast));
        // Checked again after every wait, with no wait between this check and the appends: other calls interleave.
        if (!Taking(batch) || log.State.LastSequence != batch.PreviousLast)
            return Answer(log, false);
        var frames = batch.Frames.AsSpan(0, batch.Length);
        int offset = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            PublishFrames.Read(frames, ref offset, out var subject, out var headers, out var payload);
            ulong sequence = batch.Sequences[i];
            if (sequence == 0)
                continue;
            if (sequence > log.State.LastSequence + 1)
                SkipTo(log, sequence, batch.PrimaryFirst, batch.Timestamps[i]);
            log.Append(subject, headers, payload, batch.Timestamps[i]);
        }
        if (batch.Last > log.State.LastSequence)
            SkipTo(log, batch.Last + 1, batch.PrimaryFirst, log.State.LastTimestampNanos);
        ApplyRemovals(log, batch);
        // The answer is about this batch: the next one may be appended while this one commits.
        var appended = log.State;
        _early.Reached(appended.LastSequence);
        await log.CommitAsync();
        _held = Math.Max(_held, appended.LastSequence);
        return Answer(log, true, appended);
    }

    private bool Taking(ReplicaBatch batch) => batch.Epoch >= _epoch && _damage is null && !_newCopy;

    /// <summary>
    /// Brings the next sequence to <paramref name="sequence"/> as the primary's log has it: by dropping everything below
    /// when the primary holds nothing there (a purge or limit moved its first sequence past its last), else by
    /// placeholders deleted at once, the gaps of messages the primary deleted.
    /// </summary>
    private static void SkipTo(IMessageLog log, ulong sequence, ulong primaryFirst, long timestamp)
    {
        if (primaryFirst >= sequence)
        {
            log.RemoveBelow(sequence);
            return;
        }
        while (log.State.LastSequence + 1 < sequence)
            log.Delete(log.Append(GapSubject, default, default, timestamp));
    }

    /// <summary>Removes what the primary removed: below its first sequence, and the messages it names.</summary>
    private static void ApplyRemovals(IMessageLog log, ReplicaBatch batch)
    {
        var state = log.State;
        if (batch.PrimaryFirst > state.FirstSequence && batch.PrimaryFirst <= state.LastSequence + 1)
            log.RemoveBelow(batch.PrimaryFirst);
        if (batch.Removed is { } removed)
            foreach (var sequence in removed)
                log.Delete(sequence);
    }

    public async Task<ConsumerReplicaAck> ApplyConsumer(ConsumerReplicaBatch batch)
    {
        if (batch.Epoch < _epoch)
            return new ConsumerReplicaAck(false, _epoch);
        Adopt(batch.Epoch);
        if (batch.Deleted)
        {
            _consumers.Remove(batch.Consumer);
            ConsumerStore.Delete(store, Stream, batch.Consumer);
            return new ConsumerReplicaAck(true, _epoch);
        }
        var directory = ConsumerStore.Directory(store, Stream, batch.Consumer);
        ConsumerJournal journal;
        if (batch.Snapshot is not null)
        {
            // The state file first: a journal is replayed only over the snapshot of its own generation.
            ConsumerStore.SaveEncoded(store, Stream, batch.Consumer, batch.Snapshot);
            journal = ConsumerJournal.Open(directory, store.Sync.Always);
            journal.Reset(batch.Generation);
        }
        else if (_consumers.TryGetValue(batch.Consumer, out var copy) && copy.Generation == batch.Generation && copy.Length == batch.Offset)
        {
            journal = ConsumerJournal.OpenAt(directory, store.Sync.Always, batch.Offset);
        }
        else
        {
            return new ConsumerReplicaAck(false, _epoch);
        }
        // Not kept open: a promoted copy's consumer grain opens this journal itself.
        using (journal)
        {
            journal.Append(batch.Records);
            await journal.CommitAsync();
        }
        _consumers[batch.Consumer] = (batch.Generation, batch.Offset + batch.Records.Length);
        return new ConsumerReplicaAck(true, _epoch);
    }

    public async Task<ReplicaAck> Fence(long epoch)
    {
        if (epoch < _epoch)
            return await AnswerAsync(false);
        Adopt(epoch);
        return await AnswerAsync(true);
    }

    public async Task<ReplicaAck> Reset(long epoch, ulong nextSequence)
    {
        if (epoch < _epoch)
            return await AnswerAsync(false);
        Adopt(epoch);
        _early.GiveUp();
        if (_damage is null && !_newCopy)
        {
            await _log!.DisposeAsync();
            PutAside("diverged");
        }
        else
        {
            // What was found was put aside already; the log here is the empty one that took its place.
            await _log!.DropAsync();
        }
        _log = null;
        if (_newCopy && _config.Storage == StorageType.File)
            store.SaveMeta(new StreamMeta(_config, DateTime.UtcNow));
        // The held mark stays: a copy rebuilt from the primary is whole again once it is past what it held before.
        _damage = null;
        _newCopy = false;
        SaveHeld(force: true);
        Open();
        using var lease = await UseLogAsync();
        if (nextSequence > 1)
            lease.Log.SetNextSequence(nextSequence);
        return Answer(lease.Log, true);
    }

    public async Task Release()
    {
        _early.GiveUp();
        if (_log is not null)
            await _log.DisposeAsync();
        _log = null;
        DeactivateOnIdle();
    }

    public async Task Delete()
    {
        _early.GiveUp();
        if (_log is not null)
            await _log.DropAsync();
        _log = null;
        _deleted = true;
        store.DeleteStream(Stream);
        DeactivateOnIdle();
    }

    private async ValueTask<StreamLog.Lease> UseLogAsync()
        => _log is null ? throw new StreamOfflineException(Stream, $"its replica on {node.Name} is closing") : await _log.UseAsync();

    /// <summary>Persists a newer epoch before anything is answered under it.</summary>
    private void Adopt(long epoch)
    {
        if (epoch <= _epoch)
            return;
        _epoch = epoch;
        SaveHeld(force: true);
        _early.GiveUp();
    }

    private async Task<ReplicaAck> AnswerAsync(bool accepted)
    {
        using var lease = await UseLogAsync();
        return Answer(lease.Log, accepted);
    }

    private ReplicaAck Answer(IMessageLog log, bool accepted, LogState? at = null)
    {
        var state = at ?? log.State;
        return new ReplicaAck(accepted, _epoch, state.LastSequence, state.Messages == 0 ? 0 : LastTimestamp(log, state), _damage is not null, _held, _newCopy);
    }

    /// <summary>The timestamp of the record at the log's last sequence; 0 when that one was deleted.</summary>
    private static long LastTimestamp(IMessageLog log, LogState state)
        => log.TryGet(state.LastSequence, out var record) ? record.TimestampNanos : 0;
}
