using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Platform.Grains.Cluster;
using Platform.Grains.Consumers;
using Platform.Grains.Node;
using Platform.Grains.Replication;
using Platform.Grains.Storage;
using Platform.Grains.Subjects;

namespace Platform.Grains.Streams;

/// <summary>
/// Owns one stream partition's log: checks publish headers, enforces limits, assigns sequences and answers reads.
/// Kept active for the life of the silo (a memory stream's messages live only here), but the log of a file stream is
/// open only while it is used (<see cref="StreamLog"/>): activation reads the state it saved when it last closed, and
/// the silo's <see cref="LogBudget"/> closes idle logs to bound the file descriptors they hold.
/// </summary>
[StreamHomePlacement]
[CollectionAgeLimit(AlwaysActive = true)]
internal sealed partial class StreamGrain(StreamStore store, StreamSignals signals, NodeIdentity node, CatalogView catalog, ILogger<StreamGrain> logger)
    : Grain, IStreamGrain, IStreamPrimary
{
    private readonly SortedDictionary<string, PlatformConsumerConfig> _consumers = new(StringComparer.Ordinal);
    /// <summary>Interest retention: how many consumers still have to ack each message.</summary>
    private readonly Dictionary<ulong, int> _interest = [];
    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;

    private readonly Dictionary<string, ulong> _msgIds = new(StringComparer.Ordinal);
    private readonly Queue<(long Timestamp, string Id)> _msgIdExpiry = new();
    /// <summary>The msg ids of the duplicate window, being read from the log in the background; null once merged.</summary>
    private Task<MsgIdWindow>? _msgIdRecovery;
    private PlatformStreamConfig? _config;
    /// <summary>The stream's republish, null without one; its target is the gateway of this silo.</summary>
    private StreamRepublish? _republish;
    private IStreamRepublisher? _republisher;
    private StreamSubjects? _subjects;
    private DateTime _created;
    private StreamLog? _log;
    /// <summary>Whether this activation has read from the log what the grain keeps of it (msg ids, last timestamp).</summary>
    private bool _recovered;
    private string? _lastMsgId;
    private long _lastTimestamp;
    private IGrainTimer? _ageTimer;
    private IGrainTimer? _interestTimer;
    private static readonly TimeSpan InterestSweepPeriod = TimeSpan.FromSeconds(1);
    /// <summary>The catalog is moving this partition to another node: its log is closed and stays closed here.</summary>
    private bool _moving;
    /// <summary>A replicated stream's primary side; null for a stream of one copy, whose path it never touches.</summary>
    private ReplicationPrimary? _replication;
    private readonly PublisherTurns _publisherTurns = new();
    private IGrainTimer? _replicaTimer;

    /// <summary>The grain key: the stream name for partition 0, "name.p" for partition p.</summary>
    private string Key => this.GetPrimaryKeyString();
    private string Name => StreamKeys.Parse(Key).Stream;
    private int Partition => StreamKeys.Parse(Key).Partition;
    /// <summary>Partition 0 speaks for the stream: its metadata file and its consumers.</summary>
    private bool IsRoot => Partition == 0;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Placement brought the grain to the partition's home; the data there must still be the data the catalog
        // recorded. A wiped or replaced store would otherwise serve the stream empty, acking what no one else holds.
        await catalog.EnsureHomeAsync(node, Name, Partition);
        var replicated = node.IsCluster && await catalog.FindAsync(Name, RequestContext.Get(CatalogView.EntryHint)) is { Replicas: not null } entry
            ? entry
            : null;
        if (replicated is not null)
            await StartReplicationAsync(replicated);
        if (store.LoadMeta(Name) is { } meta)
        {
            // A promoted replica's metadata may predate an update; the catalog's config is the stream's.
            Attach(replicated?.Config ?? meta.Config, meta.Created);
            ReportUsage();
            if (IsRoot)
                foreach (var consumer in ConsumerStore.LoadAll(store, Name))
                    _consumers[consumer.Config.Name!] = consumer.Config;
            if (IsRoot && replicated is not null)
                WakePushConsumers();
        }
        if (replicated is not null && _log is not null)
            await StepDownIfDamagedAsync(replicated);
    }

    /// <summary>
    /// A replicated stream's push consumers deliver from a loop where their grain runs, which was the old primary's
    /// node after a promotion: each grain, activated here from the state its replica holds, starts its loop here.
    /// </summary>
    private void WakePushConsumers()
    {
        foreach (var (name, config) in _consumers)
            if (config.IsPush)
                _ = WakeAsync(GrainFactory.GetGrain<IConsumerGrain>(ConsumerKey.Of(Name, name)));

        async Task WakeAsync(IConsumerGrain consumer)
        {
            try
            {
                await consumer.GetConfig();
            }
            catch (Exception ex)
            {
                logger.LogWarning("Stream {Stream}: a push consumer did not start: {Reason}", Name, ex.Message);
            }
        }
    }

    /// <summary>
    /// Becomes the primary of a replicated stream at the catalog's epoch: this node's replica grain, if it runs here
    /// (a promotion), closes the log first (the two share it; it refuses to activate again on the primary's node); a
    /// timer catches up replicas out of sync.
    /// </summary>
    private async Task StartReplicationAsync(CatalogEntry entry)
    {
        if (ServiceProvider.GetRequiredService<LocalReplicas>().Contains(Name))
            await GrainFactory.GetGrain<IReplicaGrain>(ReplicaKey.Of(Name, node.Name)).Release();
        _replication = new ReplicationPrimary(Name, entry.Replicas!, GrainFactory, ServiceProvider.GetRequiredService<IClusterMembershipService>(), logger,
            committed => signals.Advance(Key, committed), RepairReplicationSoon);
        // The first round right after activation: readers see nothing until it commits what this primary holds.
        _replicaTimer = this.RegisterGrainTimer(static (self, _) => self.CatchUpReplicasAsync(), this,
            new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = ReplicaCatchUpPeriod, KeepAlive = false });
    }

    private static readonly TimeSpan ReplicaCatchUpPeriod = TimeSpan.FromSeconds(1);

    private async Task CatchUpReplicasAsync()
    {
        if (_log is null || _moving)
            return;
        await CommitTailAsync();
        ulong before = _replication!.Committed;
        await _replication.CatchUpOneAsync(_log);
        AdvanceReaders(before);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        logger.LogDebug("Stream {Stream} deactivates on {Node}: {Reason}", Key, node.Name, reason);
        // Orleans deactivates an activation whose directory entry was on a silo that died; this grain's uncalled work
        // (a replica left behind on that silo waited for good in the wipe case) needs it back. Off the grain's
        // scheduler: the call must outlive this activation, and waits until it has gone.
        if (reason.ReasonCode == DeactivationReasonCode.DirectoryFailure)
        {
            var (grains, key) = (GrainFactory, Key);
            _ = Task.Run(() => StreamWake.WakeAsync(grains, key, "its grain, lost with its directory entry,", logger));
        }
        _replicaTimer?.Dispose();
        _repairTimer?.Dispose();
        _ageTimer?.Dispose();
        _interestTimer?.Dispose();
        _sourcingTimer?.Dispose();
        _batchTimer?.Dispose();
        CloseAllBatches();
        // A file stream's messages stay stored, and counted against max_file_store, while its grain is away.
        if (_config is { Storage: StorageType.Memory })
            store.Usage.Set(Key, _config.Storage, 0);
        if (_log is not null)
        {
            store.OpenLogs.Unregister(Key, _log);
            await _log.DisposeAsync();
        }
    }

    /// <summary>Takes on the stream's configuration and its log, which opens when it is first used.</summary>
    private void Attach(PlatformStreamConfig config, DateTime created)
    {
        _config = config;
        _subjects = new StreamSubjects(config, Partition);
        _republish = StreamRepublish.For(config);
        _republisher ??= ServiceProvider.GetService(typeof(IStreamRepublisher)) as IStreamRepublisher;
        _created = created;
        // Read again from the log: a queue kept across the re-read would hold its messages twice.
        _ttlIndexed = false;
        _ttlTrackedFrom = 0;
        _ttlExpiry.Clear();
        StartSourcing();
        var options = store.LogOptions(config, Partition);
        _log = new StreamLog(options, store.LogBudget, store.Preopener.Take(options.Directory));
        store.OpenLogs.Register(Key, _log, Readable);
        // Time never runs backwards inside a stream, even if the clock did across a restart.
        if (_log.TryGetState(out var saved))
            _lastTimestamp = Math.Max(_lastTimestamp, saved.LastTimestampNanos);
        ScheduleAgeLimit();
    }

    /// <summary>
    /// The log, opened if it is closed (which may close another). Hold the lease only while using the log, never
    /// across a call to another grain. The first open of an activation restores what the grain keeps of the log.
    /// </summary>
    private async ValueTask<StreamLog.Lease> UseLogAsync()
    {
        ThrowIfMoving();
        var lease = await _log!.UseAsync();
        // Set on every use: the log this lease holds may have been closed and opened again since the last one.
        if (_replication is not null)
            lease.Log.RemovedInto = _removed;
        if (!_recovered)
        {
            _recovered = true;
            var log = lease.Log;
            if (_config!.FirstSeq > 0 && log.State.LastSequence == 0)
                log.SetNextSequence(_config.FirstSeq);
            _lastTimestamp = Math.Max(_lastTimestamp, log.State.LastTimestampNanos);
            var recovery = log.Recovery;
            if (recovery.RecordsScanned + recovery.JournalEntries > 0)
                logger.LogInformation("Recovered log of stream {Stream} in {Ms:F0} ms: {How}, {Records} messages read, {Entries} journaled removals; engine open {EngineMs:F0} ms",
                    Key, recovery.Elapsed.TotalMilliseconds, recovery.FromCheckpoint ? "from its checkpoint" : $"full scan ({recovery.FullScanReason})",
                    recovery.RecordsScanned, recovery.JournalEntries, recovery.EngineOpen.TotalMilliseconds);
            if (recovery.QuarantinedFiles > 0)
                logger.LogWarning("The log of stream {Stream} held {Count} segment files a crashed merge left behind; they were moved to its {Directory} directory",
                    Key, recovery.QuarantinedFiles, LeftoverSegments.QuarantineDirectoryName);
            StartMsgIdRecovery(log);
        }
        return lease;
    }

    /// <summary>
    /// Reloads the msg ids stored within the duplicate window, as nats-server does on recovery: a publisher that
    /// retries across a restart must get a duplicate ack, not a second copy. A window can hold millions of messages
    /// (a second or more to read), so it is read on the thread pool under its own lease, and only publishes that
    /// carry Nats-Msg-Id or Nats-Expected-Last-Msg-Id wait for it (<see cref="AwaitMsgIdsAsync"/>); the grain is not
    /// reentrant, so they wait inside their append turn and order is kept.
    /// </summary>
    private void StartMsgIdRecovery(IMessageLog log)
    {
        var state = log.State;
        long cutoff = (DateTime.UtcNow.Ticks - UnixEpochTicks) * 100 - _config!.DuplicateWindow;
        if (state.Messages == 0 || state.LastTimestampNanos < cutoff || !_log!.TryUse(out var lease))
            return;
        _msgIdRecovery = Task.Run(() =>
        {
            using (lease)
                return ReadMsgIds(lease.Log, state, cutoff);
        });
    }

    /// <summary>Takes in the msg ids read in the background, waiting for them if need be.</summary>
    private async ValueTask AwaitMsgIdsAsync(IMessageLog log)
    {
        var recovery = _msgIdRecovery!;
        MsgIdWindow window;
        try
        {
            window = await recovery;
        }
        catch (Exception ex) when (_msgIdRecovery == recovery)
        {
            // Publishing with ids without them would store duplicates: fail these, and read again for the next ones.
            _msgIdRecovery = null;
            StartMsgIdRecovery(log);
            throw new IOException("Reading the stored msg ids back failed.", ex);
        }
        if (_msgIdRecovery != recovery)
            return;
        _msgIdRecovery = null;
        // Publishes with ids waited for this, so every id known now is newer than the window's.
        foreach (var (id, sequence) in window.Ids)
            _msgIds.TryAdd(id, sequence);
        var newer = _msgIdExpiry.ToArray();
        _msgIdExpiry.Clear();
        foreach (var entry in window.Expiry)
            _msgIdExpiry.Enqueue(entry);
        foreach (var entry in newer)
            _msgIdExpiry.Enqueue(entry);
        // Appends since then set the last msg id themselves.
        if (log.State.LastSequence == window.LastSequence)
            _lastMsgId = window.LastMsgId;
    }

    /// <summary>Whether any message of the batch needs the msg ids (dedup or Nats-Expected-Last-Msg-Id).</summary>
    private static bool UsesMsgIds(ReadOnlySpan<byte> frames, int count)
    {
        int offset = 0;
        for (int i = 0; i < count; i++)
        {
            PublishFrames.Read(frames, ref offset, out _, out var headers, out _);
            if (headers.IsEmpty)
                continue;
            var hdr = new PublishHeaders(headers);
            if (!hdr.MsgId.IsEmpty || !hdr.ExpectedLastMsgId.IsEmpty)
                return true;
        }
        return false;
    }

    private sealed record MsgIdWindow(Dictionary<string, ulong> Ids, Queue<(long Timestamp, string Id)> Expiry, string? LastMsgId, ulong LastSequence);

    private static MsgIdWindow ReadMsgIds(IMessageLog log, LogState state, long cutoff)
    {
        var ids = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var expiry = new Queue<(long Timestamp, string Id)>();
        string? lastMsgId = null;
        // Timestamps rise with sequences, so the window's first message can be found by bisection.
        ulong low = state.FirstSequence, high = state.LastSequence + 1;
        while (low < high)
        {
            ulong middle = low + (high - low) / 2;
            if (log.TryGetNextBySubject(middle, ">", out var next) && next.TimestampNanos < cutoff)
                low = next.Sequence + 1;
            else
                high = middle;
        }
        var batch = new List<LogRecord>(256);
        for (ulong from = low; from <= state.LastSequence; from = batch[^1].Sequence + 1)
        {
            batch.Clear();
            if (log.Read(from, 256, 0, null, batch) == 0)
                break;
            foreach (var record in batch)
            {
                if (record.Sequence > state.LastSequence)
                    break;
                var msgId = new PublishHeaders(record.Headers).MsgId;
                string? id = msgId.IsEmpty ? null : Encoding.UTF8.GetString(msgId);
                if (id is not null && record.TimestampNanos >= cutoff)
                {
                    ids[id] = record.Sequence;
                    expiry.Enqueue((record.TimestampNanos, id));
                }
                if (record.Sequence == state.LastSequence)
                    lastMsgId = id;
            }
        }
        return new MsgIdWindow(ids, expiry, lastMsgId, state.LastSequence);
    }

    public async Task<StreamResult<PlatformStreamInfo>> Create(PlatformStreamConfig config)
    {
        if (_config is not null)
        {
            return _config.SameAs(config)
                ? StreamResult<PlatformStreamInfo>.Ok(Info(_log!.State))
                : StreamResult<PlatformStreamInfo>.Fail(ApiError.StreamNameExists);
        }
        if (config.Sealed)
            return StreamResult<PlatformStreamInfo>.Fail(ApiError.InvalidConfig("stream configuration for create can not be sealed"));
        var created = DateTime.UtcNow;
        Attach(config, created);
        try
        {
            // Opened now rather than at the first publish: a stream the silo has no room for is refused here.
            using (await UseLogAsync()) { }
        }
        catch (IOException ex)
        {
            logger.LogWarning("Stream {Stream} not created: {Reason}", config.Name, ex.Message);
            await ForgetAsync();
            return StreamResult<PlatformStreamInfo>.Fail(ApiError.StoreCreateFailed);
        }
        if (config.Storage == StorageType.File && IsRoot)
            store.SaveMeta(new StreamMeta(config, created));
        ReportUsage();
        logger.LogInformation("Created stream {Stream} ({Storage})", config.Name, config.Storage);
        return StreamResult<PlatformStreamInfo>.Ok(Info(_log!.State));
    }

    public async Task<StreamResult<PlatformStreamInfo>> Update(PlatformStreamConfig config)
    {
        if (_config is null)
            return StreamResult<PlatformStreamInfo>.Fail(ApiError.StreamNotFound);
        ThrowIfMoving();
        // What an update may change was checked by the catalog (StreamConfigRules.CheckUpdate).
        _config = config;
        _subjects = new StreamSubjects(config, Partition);
        _republish = StreamRepublish.For(config);
        // As nats-server: turning atomic publish off drops the batches being staged.
        if (!config.AllowAtomic)
            CloseAllBatches();
        StartSourcing();
        if (config.Storage == StorageType.File && IsRoot)
            store.SaveMeta(new StreamMeta(config, _created));
        using (var lease = await UseLogAsync())
            EnforceLimits(lease.Log);
        ScheduleAgeLimit();
        ReportUsage();
        await ReplicateRemovalsAsync();
        return StreamResult<PlatformStreamInfo>.Ok(Info(_log!.State));
    }

    public async Task<bool> Delete()
    {
        if (_config is null)
            return false;
        ThrowIfMoving();
        StopTimers();
        if (_replication is not null)
            await _replication.CloseAsync(ApiError.StreamNotFound);
        foreach (var consumer in _consumers.Keys.ToArray())
            await GrainFactory.GetGrain<IConsumerGrain>(ConsumerKey.Of(Name, consumer)).Delete();
        _consumers.Clear();
        var name = _config.Name;
        await ForgetAsync();
        if (IsRoot)
            store.DeleteStream(name);
        signals.Poke(Key);
        logger.LogInformation("Deleted stream {Stream}", name);
        DeactivateOnIdle();
        return true;
    }

    public async Task<StreamResult<bool>> BeginMove()
    {
        if (_config is null)
            return StreamResult<bool>.Fail(ApiError.StreamNotFound);
        // A memory stream's messages are only in this process: there are no files to carry.
        if (_config.Storage == StorageType.Memory)
            return StreamResult<bool>.Fail(ApiError.InvalidConfig("memory streams can not be moved"));
        _moving = true;
        StopTimers();
        if (_replication is not null)
            await _replication.CloseAsync(ApiError.StreamOffline);
        // Closing waits for the readers that hold the log and writes its state: the files are then the whole log.
        if (_log is not null)
        {
            store.OpenLogs.Unregister(Key, _log);
            await _log.DisposeAsync();
        }
        logger.LogInformation("Stream {Stream} closed for its move", Key);
        return StreamResult<bool>.Ok(true);
    }

    public Task EndMove(bool moved)
    {
        if (!_moving)
            return Task.CompletedTask;
        if (moved)
        {
            // The new home holds the data now; this activation goes, and the catalog removes the files after it.
            store.Usage.Set(Key, _config!.Storage, 0);
            _log = null;
            DeactivateOnIdle();
            return Task.CompletedTask;
        }
        _moving = false;
        Attach(_config!, _created);
        logger.LogWarning("Stream {Stream} stays: its move did not complete", Key);
        return Task.CompletedTask;
    }

    private void StopTimers()
    {
        _batchTimer?.Dispose();
        _batchTimer = null;
        _sourcingTimer?.Dispose();
        _sourcingTimer = null;
        _replicaTimer?.Dispose();
        _replicaTimer = null;
        _repairTimer?.Dispose();
        _repairTimer = null;
        _ageTimer?.Dispose();
        _ageTimer = null;
        _interestTimer?.Dispose();
        _interestTimer = null;
    }

    private void ThrowIfMoving()
    {
        if (_moving)
            throw new StreamOfflineException(Name, "it is moving to another node");
    }

    /// <summary>Drops the log and everything this grain knew of the stream (delete, or a create that could not open its log).</summary>
    private async Task ForgetAsync()
    {
        StopTimers();
        if (_log is not null)
        {
            store.OpenLogs.Unregister(Key, _log);
            await _log.DropAsync();
        }
        _log = null;
        _recovered = false;
        store.Usage.Set(Key, _config!.Storage, 0);
        _config = null;
        _msgIds.Clear();
        _msgIdExpiry.Clear();
        _msgIdRecovery = null;
        _lastMsgId = null;
        _sourcing = null;
        CloseAllBatches();
        // A stream made again under this name starts its sequences over.
        _ttlExpiry.Clear();
    }

    public async Task<StreamResult<PlatformStreamInfo>> GetInfo(bool deletedDetails, string? subjectsFilter)
    {
        if (_config is null)
            return StreamResult<PlatformStreamInfo>.Fail(ApiError.StreamNotFound);
        ThrowIfMoving();
        // Counts and sequences are known with the log closed, from the state it saved; only the details need it open,
        // or a log that was open when the silo stopped without closing it (it saved nothing).
        if (!deletedDetails && string.IsNullOrEmpty(subjectsFilter) && _log!.TryGetState(out var state))
        {
            await WaitInfoCommittedAsync(state);
            return StreamResult<PlatformStreamInfo>.Ok(Info(state));
        }
        PlatformStreamInfo info;
        using (var lease = await UseLogAsync())
        {
            var log = lease.Log;
            info = Info(log.State,
                deletedDetails ? [.. log.DeletedSequences] : null,
                string.IsNullOrEmpty(subjectsFilter) ? null : new Dictionary<string, ulong>(log.SubjectCounts(subjectsFilter)));
        }
        await WaitInfoCommittedAsync(info.State);
        return StreamResult<PlatformStreamInfo>.Ok(info);
    }

    private PlatformStreamInfo Info(LogState state, ulong[]? deleted = null, Dictionary<string, ulong>? subjects = null)
        => new(_config!, _created, state, deleted, subjects, _consumers.Count, _replication?.Peers(state.LastSequence),
            _sourcing?.MirrorInfo(), _sourcing?.SourceInfos());

    /// <remarks>
    /// Replicates one round at a time within the turn: a pipelined round that failed is put right by a turn of its own
    /// (<see cref="RepairReplicationSoon"/>), which a turn waiting for it would keep out.
    /// </remarks>
    public async Task<Immutable<PublishAck[]>> Append(Immutable<byte[]> frames, int length, int count)
        => (await StoreAsync(frames, length, count, pipelined: false)).Acks.AsImmutable();

    public async Task<Immutable<PublishAck[]>> AppendPipelined(Immutable<byte[]> frames, int length, int count, BatchOrder order)
    {
        await _publisherTurns.WaitAsync(order);
        // A call of its own (not interleaved), so storing keeps the stream's turn; this method interleaves only to wait.
        // The calls queue in the order they are made here.
        var storing = this.AsReference<IStreamPrimary>().Store(frames, length, count);
        _publisherTurns.Taken(order);
        var stored = await storing;
        return (stored.Pending == 0 ? stored.Acks : await AwaitReplicasAsync(stored)).AsImmutable();
    }

    public Task<StoredBatch> Store(Immutable<byte[]> frames, int length, int count) => StoreAsync(frames, length, count, pipelined: true);

    private async Task<StoredBatch> StoreAsync(Immutable<byte[]> frames, int length, int count, bool pipelined)
    {
        var acks = new PublishAck[count];
        if (_moving)
        {
            // Not stored here, where the copy is already taken: the publisher tries again once the new home serves.
            Array.Fill(acks, new PublishAck(0, false, ApiError.StreamOffline));
            return new StoredBatch(acks, 0);
        }
        if (_config is null || _log is null)
        {
            Array.Fill(acks, new PublishAck(0, false, ApiError.StreamNotFound));
            return new StoredBatch(acks, 0);
        }
        StreamLog.Lease lease;
        try
        {
            lease = await UseLogAsync();
        }
        catch (IOException ex)
        {
            logger.LogError("Append to stream {Stream} failed: {Reason}", _config.Name, ex.Message);
            Array.Fill(acks, new PublishAck(0, false, ApiError.StoreFailed(ex.Message)));
            return new StoredBatch(acks, 0);
        }
        ulong previous = 0;
        long[]? timestamps = null;
        byte[] stored = frames.Value;
        int storedLength = length;
        using (lease)
        {
            if (_msgIdRecovery is not null && UsesMsgIds(frames.Value.AsSpan(0, length), count))
            {
                try
                {
                    await AwaitMsgIdsAsync(lease.Log);
                }
                catch (IOException ex)
                {
                    logger.LogError(ex, "Append to stream {Stream} failed", _config.Name);
                    Array.Fill(acks, new PublishAck(0, false, ApiError.StoreFailed(ex.Message)));
                    return new StoredBatch(acks, 0);
                }
            }
            if (_replication is not null)
            {
                previous = lease.Log.State.LastSequence;
                timestamps = new long[count];
            }
            (stored, storedLength) = await AppendAsync(lease.Log, frames.Value, length, acks, timestamps);
        }
        return _replication is null ? new StoredBatch(acks, 0) : await ReplicateAsync(stored, storedLength, acks, previous, timestamps!, pipelined);
    }

    /// <summary>
    /// Sends what the batch stored to the replicas (outside the log's lease: it calls other grains): pipelined when it
    /// can be, then the acks wait for <see cref="AwaitReplicasAsync"/>; else one round now, which takes back every ack,
    /// a duplicate's too, whose message is not on a quorum and every in-sync replica.
    /// </summary>
    private async Task<StoredBatch> ReplicateAsync(byte[] frames, int length, PublishAck[] acks, ulong previous, long[] timestamps, bool pipelined)
    {
        var sequences = new ulong[acks.Length];
        ulong highest = 0;
        for (int i = 0; i < acks.Length; i++)
        {
            if (acks[i].Error is null)
                highest = Math.Max(highest, acks[i].Sequence);
            if (acks[i].Error is null && !acks[i].Duplicate)
                sequences[i] = acks[i].Sequence;
        }
        var replication = _replication!;
        if (highest == 0)
            return new StoredBatch(acks, 0);
        var state = _log!.State;
        var batch = new ReplicaBatch(replication.Set.Epoch, previous, state.FirstSequence, state.LastSequence, frames, length, acks.Length, sequences, timestamps,
            TakeRemoved(state));
        if (pipelined && state.LastSequence > previous && replication.TryPipeline(batch))
            return new StoredBatch(acks, highest);
        ulong before = replication.Committed;
        ApiError? error;
        try
        {
            error = await replication.ReplicateAsync(_log, batch, state.LastSequence);
        }
        catch (Exception ex)
        {
            error = ApiError.StoreFailed($"stream replication failed: {ex.Message}");
        }
        if (error is not null)
            TakeBackUncommitted(acks, error);
        AdvanceReaders(before);
        return new StoredBatch(acks, 0);
    }

    /// <summary>The acks of a pipelined batch, once its round has settled.</summary>
    private async Task<PublishAck[]> AwaitReplicasAsync(StoredBatch stored)
    {
        var replication = _replication!;
        if (await replication.CommittedAsync(stored.Pending, ReplicaWaitTimeout) is { } error)
        {
            TakeBackUncommitted(stored.Acks, error);
            if (replication.Fenced)
                DeactivateOnIdle();
        }
        return stored.Acks;
    }

    /// <summary>Fails every ack whose message is not committed (a duplicate's too, whose original is not).</summary>
    private void TakeBackUncommitted(PublishAck[] acks, ApiError error)
    {
        ulong committed = _replication!.Committed;
        logger.LogWarning("Stream {Stream}: messages after {Committed} not acknowledged: {Reason}", Key, committed, error.Description);
        for (int i = 0; i < acks.Length; i++)
            if (acks[i].Error is null && acks[i].Sequence > committed)
                acks[i] = new PublishAck(0, false, error);
    }

    /// <summary>Appends a batch; gives back its frames as stored (<see cref="StoredFrames"/>), the ones given unless the stream counts.</summary>
    private async ValueTask<(byte[] Frames, int Length)> AppendAsync(IMessageLog log, byte[] frames, int length, PublishAck[] acks, long[]? timestamps)
    {
        int count = acks.Length;
        await log.WaitForCapacityAsync();
        var buffer = frames.AsSpan(0, length);
        int offset = 0;
        bool appended = false;
        bool limited = store.Limits.For(_config!.Storage) >= 0;
        _republish?.Clear();
        var storedFrames = _config.AllowMsgCounter ? new StoredFrames(length + count * 16) : null;
        for (int i = 0; i < count; i++)
        {
            int frameOffset = storedFrames?.Length ?? offset;
            PublishFrames.Read(buffer, ref offset, out var subject, out var headers, out var payload);
            try
            {
                if (storedFrames is not null)
                {
                    _countedBody = _countedHeaders = null;
                    _counterIndex = i;
                }
                // The one check the batch feature adds to a publish, and only to one with headers.
                acks[i] = !_appendingSourced && BatchHeaders.Mentioned(headers)
                    ? AppendBatchMessage(log, subject, headers, payload, frameOffset)
                    : AppendOne(log, subject, headers, payload, frameOffset);
                if (acks[i].Error is null && !acks[i].Duplicate && !acks[i].Staged)
                {
                    appended = true;
                    if (timestamps is not null)
                        timestamps[i] = _lastTimestamp;
                    // Under a server store limit the next message of the batch is checked against the usage this
                    // one left; without one, reporting once per batch is enough.
                    if (limited)
                        ReportUsage();
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                logger.LogError(ex, "Append to stream {Stream} failed", _config.Name);
                acks[i] = new PublishAck(0, false, ApiError.StoreFailed(ex.Message));
            }
            // Every frame keeps its place (a refused one is skipped by sequence 0), so offsets and indexes still match.
            storedFrames?.Add(subject, _countedHeaders ?? headers, _countedBody ?? payload);
        }
        if (storedFrames is not null)
        {
            frames = storedFrames.ToArray();
            length = frames.Length;
        }
        if (appended)
        {
            if (!limited)
                ReportUsage();
            // The durability point: nothing is acknowledged before the log says it is as durable as the policy asks.
            await log.CommitAsync();
            // A replicated stream's consumers hear of a message once it is on its replicas (ReplicateAsync).
            if (timestamps is null)
                signals.Advance(Key, log.State.LastSequence);
            // Republished as soon as the primary holds it: core NATS, at most once, as nats-server's republish.
            _republish?.Send(frames.AsSpan(0, length), _config.Name, _republisher);
        }
        return (frames, length);
    }

    private PublishAck AppendOne(IMessageLog log, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, int frameOffset)
    {
        var config = _config!;
        if (config.Sealed)
            return Fail(ApiError.StreamSealed);
        // What a source copies keeps its origin's subject, which need not be one of this stream's.
        if (!_appendingSourced && _subjects!.Check(subject) is { } foreign)
            return Fail(foreign);
        int size = headers.Length + payload.Length;
        if (config.MaxMsgSize >= 0 && size > config.MaxMsgSize)
            return Fail(ApiError.MessageTooLarge);

        var hdr = new PublishHeaders(headers);
        string? counterTotal = null;
        if (!hdr.Incr.IsEmpty || config.AllowMsgCounter)
        {
            if (CountIncrement(log, subject, headers, hdr, payload, out var counterBody, out var counterHeaders, out counterTotal) is { } counterError)
                return Fail(counterError);
            if (counterBody is not null)
                payload = _countedBody = counterBody;
            if (counterHeaders is not null)
                headers = _countedHeaders = counterHeaders;
        }
        long now = Now();
        string? msgId = null;
        if (!hdr.MsgId.IsEmpty)
        {
            msgId = Encoding.UTF8.GetString(hdr.MsgId);
            ExpireMsgIds(now);
            if (_msgIds.TryGetValue(msgId, out var original))
                return new PublishAck(original, true, null);
        }
        if (!hdr.ExpectedStream.IsEmpty && !hdr.ExpectedStream.SequenceEqual(Encoding.UTF8.GetBytes(config.Name)))
            return Fail(ApiError.ExpectedStreamMismatch);
        long ttl = 0;
        if (!hdr.Ttl.IsEmpty)
        {
            if (!MessageTtl.TryParse(hdr.Ttl, out ttl))
                return Fail(ApiError.MessageTtlInvalid);
            // What a source copies keeps its TTL header whatever this stream allows, as with nats-server.
            if (ttl != 0 && !config.AllowMsgTtl && !_appendingSourced)
                return Fail(ApiError.MessageTtlDisabled);
            // A message must outlive the marker its subject may get, or a reader could miss the marker (nats-server's
            // rule; one message per subject needs no such care). Rare: only then is the header block copied.
            long markerTtl = config.SubjectDeleteMarkerTtl / 1_000_000_000;
            if (ttl > 0 && ttl < markerTtl && config.MaxMsgsPerSubject != 1)
            {
                ttl = markerTtl;
                headers = MessageTtl.Replace(headers, ttl);
            }
        }
        var state = log.State;
        if (hdr.ExpectedLastSequence is { } expectedLast && expectedLast != state.LastSequence)
            return Fail(ApiError.WrongLastSequence(state.LastSequence));
        if (!hdr.ExpectedLastMsgId.IsEmpty && (_lastMsgId is null || !hdr.ExpectedLastMsgId.SequenceEqual(Encoding.UTF8.GetBytes(_lastMsgId))))
            return Fail(ApiError.WrongLastMsgId(_lastMsgId));
        string? subjectText = null;
        if (hdr.ExpectedLastSubjectSequence is { } expectedSubjectLast)
        {
            subjectText = Encoding.UTF8.GetString(subject);
            var last = log.GetSubjectState(subjectText).Last;
            if (expectedSubjectLast != last)
                return Fail(ApiError.WrongLastSequence(last));
        }
        // Server-wide max_memory_store / max_file_store: refused once the stored bytes already exceed the limit, as
        // nats-server checks it, so the message that crosses the limit is still stored.
        long serverLimit = store.Limits.For(config.Storage);
        if (serverLimit >= 0 && store.Usage.For(config.Storage) > serverLimit)
        {
            if (store.Usage.ShouldWarn())
                logger.LogError("JetStream resource limits exceeded for server: {Storage} store holds {Bytes} bytes, limit {Limit}",
                    config.Storage, store.Usage.For(config.Storage), serverLimit);
            return Fail(ApiError.InsufficientResources);
        }
        bool rollupSubject = false, rollupAll = false;
        if (!hdr.Rollup.IsEmpty)
        {
            if (!config.AllowRollupHeaders)
                return Fail(ApiError.RollupNotPermitted);
            rollupSubject = hdr.Rollup.SequenceEqual("sub"u8);
            rollupAll = hdr.Rollup.SequenceEqual("all"u8);
            if (!rollupSubject && !rollupAll)
                return Fail(new ApiError(500, 10111, $"rollup value invalid: {Encoding.UTF8.GetString(hdr.Rollup)}"));
        }

        if (config.Discard == DiscardPolicy.New && !rollupAll)
        {
            if (config.MaxMsgs > 0 && state.Messages >= (ulong)config.MaxMsgs)
                return Fail(ApiError.StoreFailed("maximum messages exceeded"));
            ulong stored = config.Storage == StorageType.Memory
                ? RecordCodec.MemoryStoredSize(subject.Length, headers.Length, payload.Length)
                : StoredSize(subject.Length, headers.Length, payload.Length);
            if (config.MaxBytes > 0 && state.Bytes + stored > (ulong)config.MaxBytes)
                return Fail(ApiError.StoreFailed("maximum bytes exceeded"));
            if (config.MaxMsgsPerSubject > 0 && config.DiscardNewPerSubject && !rollupSubject)
            {
                subjectText ??= Encoding.UTF8.GetString(subject);
                if (log.GetSubjectState(subjectText).Count >= (ulong)config.MaxMsgsPerSubject)
                    return Fail(ApiError.StoreFailed("maximum messages per subject exceeded"));
            }
        }

        // Republished messages carry the subject's previous last sequence, so a reader of them can see gaps.
        bool republish = _republish is { } r && r.Wants(subject);
        ulong lastForSubject = republish ? log.GetSubjectState(subjectText ??= Encoding.UTF8.GetString(subject)).Last : 0;
        var seq = log.Append(subject, headers, payload, now);
        if (ttl > 0 && config.AllowMsgTtl)
            TrackTtl(seq, now, ttl);
        if (republish)
            _republish!.Add(frameOffset, seq, lastForSubject, now);
        if (config.Retention == RetentionPolicy.Interest)
        {
            int interested = 0;
            foreach (var consumer in _consumers.Values)
                if (consumer.Filters.Length == 0 || ConsumerReads.MatchesAny(subject, consumer.Filters)) interested++;
            // A message nobody is interested in is not kept, as with nats-server; the publisher still gets its ack.
            if (interested == 0)
                log.Delete(seq);
            else
                _interest[seq] = interested;
        }
        // Nats-Expected-Last-Msg-Id compares with the id of the last message stored, so one without an id clears it.
        _lastMsgId = msgId;
        if (msgId is not null)
        {
            _msgIds[msgId] = seq;
            _msgIdExpiry.Enqueue((now, msgId));
        }
        if (rollupAll)
        {
            log.RemoveBelow(seq);
        }
        else if (rollupSubject)
        {
            log.Purge(subjectText ??= Encoding.UTF8.GetString(subject), seq, 0);
        }
        if (config.MaxMsgsPerSubject > 0)
        {
            subjectText ??= Encoding.UTF8.GetString(subject);
            var subjectState = log.GetSubjectState(subjectText);
            if (subjectState.Count > (ulong)config.MaxMsgsPerSubject)
                log.Purge(subjectText, 0, (ulong)config.MaxMsgsPerSubject);
        }
        EnforceLimits(log);
        return new PublishAck(seq, false, null, counterTotal);

        static PublishAck Fail(ApiError error) => new(0, false, error);
    }

    /// <summary>Tells the silo's usage counter what this stream now stores.</summary>
    private void ReportUsage()
    {
        if (_config is not null && _log is not null && _log.TryGetState(out var state))
            store.Usage.Set(Key, _config.Storage, (long)state.Bytes);
    }

    /// <summary>nats-server's stored-size accounting, which max_bytes is measured in.</summary>
    private static ulong StoredSize(int subject, int headers, int payload)
        => (ulong)(22 + subject + payload + 8 + (headers > 0 ? 4 + headers : 0));

    private long Now()
    {
        long now = (DateTime.UtcNow.Ticks - UnixEpochTicks) * 100;
        // Sequence order is time order: retention by age seeks on it.
        if (now <= _lastTimestamp)
            now = _lastTimestamp + 1;
        _lastTimestamp = now;
        return now;
    }

    private void ExpireMsgIds(long now)
    {
        long cutoff = now - _config!.DuplicateWindow;
        while (_msgIdExpiry.TryPeek(out var oldest) && oldest.Timestamp < cutoff)
        {
            _msgIdExpiry.Dequeue();
            _msgIds.Remove(oldest.Id);
        }
    }

    /// <summary>Discard-old limits: drop from the head until max_msgs and max_bytes hold.</summary>
    private void EnforceLimits(IMessageLog log)
    {
        var config = _config!;
        if (config.MaxMsgs > 0)
        {
            while (log.State.Messages > (ulong)config.MaxMsgs)
            {
                var state = log.State;
                log.RemoveBelow(state.FirstSequence + (state.Messages - (ulong)config.MaxMsgs));
            }
        }
        if (config.MaxBytes > 0)
        {
            while (log.State.Bytes > (ulong)config.MaxBytes && log.State.Messages > 0)
                log.RemoveBelow(log.State.FirstSequence + 1);
        }
    }

    private void ScheduleInterestSweep()
    {
        _interestTimer?.Dispose();
        _interestTimer = null;
        if (_config is not { Retention: RetentionPolicy.Interest } || !IsRoot)
            return;
        _interestTimer = this.RegisterGrainTimer(static (self, _) => self.SweepInterestAsync(), this,
            new GrainTimerCreationOptions { DueTime = InterestSweepPeriod, Period = InterestSweepPeriod, KeepAlive = false });
    }

    /// <summary>
    /// Interest retention by ack floors: everything below the lowest floor of all consumers is owed to nobody. Acks
    /// above the floors remove messages as they come (<see cref="Acked"/>); this sweep covers what that cannot:
    /// acks from before a restart (the per-message counts live in memory) and consumers that were deleted.
    /// </summary>
    private async Task SweepInterestAsync()
    {
        if (_log is null || _consumers.Count == 0 || _log.TryGetState(out var before) && before.Messages == 0)
            return;
        ulong floor = ulong.MaxValue;
        foreach (var name in _consumers.Keys.ToArray())
            floor = Math.Min(floor, await GrainFactory.GetGrain<IConsumerGrain>(ConsumerKey.Of(Name, name)).AckFloor());
        if (_log is null || floor == ulong.MaxValue || _log.TryGetState(out var after) && floor < after.FirstSequence)
            return;
        using (var lease = await UseLogAsync())
            lease.Log.RemoveBelow(floor + 1);
        foreach (var seq in _interest.Keys.Where(s => s <= floor).ToList())
            _interest.Remove(seq);
        ReportUsage();
        await ReplicateRemovalsAsync();
    }

    private void ScheduleAgeLimit()
    {
        _ageTimer?.Dispose();
        _ageTimer = null;
        ScheduleInterestSweep();
        if (_config is not { } config || config.MaxAge <= 0 && !config.AllowMsgTtl)
            return;
        var period = config.MaxAge > 0
            ? TimeSpan.FromTicks(Math.Clamp(config.MaxAge / 100 / 4, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond))
            : TtlPeriod;
        _ageTimer = this.RegisterGrainTimer(static async (self, _) =>
        {
            await self.ExpireByAgeAsync();
            await self.ExpireByTtlAsync();
            await self.ReplicateRemovalsAsync();
        }, this, new GrainTimerCreationOptions { DueTime = period, Period = period, KeepAlive = false });
    }

    private async Task ExpireByAgeAsync()
    {
        if (_config is not { MaxAge: > 0 } config || _log is null)
            return;
        long cutoff = Now() - config.MaxAge;
        // Decided on the state a closed log saved: the log opens only when something is due to expire.
        if (_log.TryGetState(out var saved) && (saved.Messages == 0 || saved.FirstTimestampNanos >= cutoff))
            return;
        using var lease = await UseLogAsync();
        var log = lease.Log;
        if (config.AllowMsgTtl)
        {
            await ExpireByAgeSparingNeverAsync(log, cutoff);
            ReportUsage();
            return;
        }
        var batch = new List<LogRecord>(256);
        while (true)
        {
            batch.Clear();
            var state = log.State;
            if (state.Messages == 0 || state.FirstTimestampNanos >= cutoff)
                return;
            log.Read(state.FirstSequence, 256, 0, null, batch);
            ulong keepFrom = 0;
            foreach (var record in batch)
            {
                if (record.TimestampNanos >= cutoff)
                {
                    keepFrom = record.Sequence;
                    break;
                }
            }
            if (keepFrom != 0)
            {
                log.RemoveBelow(keepFrom);
                ReportUsage();
                return;
            }
            log.RemoveBelow(batch[^1].Sequence + 1);
            ReportUsage();
        }
    }

    public async Task<StreamResult<StoredMessage>> GetMessage(MessageQuery query)
    {
        if (_log is null)
            return StreamResult<StoredMessage>.Fail(ApiError.StreamNotFound);
        // As nats-server: a sequence asks for one message and last_by_subj for another, so both (or both subject
        // forms) are a bad request rather than one of them winning.
        if (query.LastBySubject is { Length: > 0 } && (query.Sequence > 0 || query.NextBySubject is { Length: > 0 }))
            return StreamResult<StoredMessage>.Fail(ApiError.BadRequest);
        // Not interleaved with appends, so it may replicate what the last failed round left (nothing, mostly).
        if (_replication is not null)
            await CommitTailAsync();
        using var lease = await UseLogAsync();
        var log = lease.Log;
        bool found;
        LogRecord record;
        if (query.LastBySubject is { Length: > 0 } last)
            found = log.TryGetLastBySubject(last, out record);
        else if (query.NextBySubject is { Length: > 0 } next)
            found = log.TryGetNextBySubject(Math.Max(query.Sequence, 1), next, out record);
        else if (query.Sequence > 0)
            found = log.TryGet(query.Sequence, out record);
        else
            return StreamResult<StoredMessage>.Fail(ApiError.BadRequest);
        if (!found)
            return StreamResult<StoredMessage>.Fail(ApiError.NoMessageFound);
        // An older message of the subject may be the committed answer, but this one may still be kept: no answer yet.
        if (record.Sequence > Readable(log.State.LastSequence))
            return StreamResult<StoredMessage>.Fail(ApiError.StoreFailed("stream replicas unavailable: no quorum"));
        return StreamResult<StoredMessage>.Ok(new StoredMessage(
            record.Subject, record.Sequence, record.Headers.ToArray(), record.Payload.ToArray(), record.TimestampNanos));
    }

    public async Task<StreamResult<bool>> DeleteMessage(ulong sequence, bool noErase)
    {
        if (_config is null || _log is null)
            return StreamResult<bool>.Fail(ApiError.StreamNotFound);
        // Sealed first, as nats-server: sealing also sets deny_delete and deny_purge.
        if (_config.Sealed)
            return StreamResult<bool>.Fail(ApiError.StreamSealed);
        if (_config.DenyDelete)
            return StreamResult<bool>.Fail(ApiError.DeleteNotPermitted);
        bool deleted;
        LogState state;
        using (var lease = await UseLogAsync())
        {
            deleted = lease.Log.Delete(sequence);
            state = lease.Log.State;
        }
        ReportUsage();
        if (await ReplicateRemovalsAsync() is { } error)
            return StreamResult<bool>.Fail(error);
        return deleted ? StreamResult<bool>.Ok(true) : StreamResult<bool>.Fail(NotDeleted(sequence, state));
    }

    /// <summary>
    /// nats-server's answer for a message that is not there, which depends on its store: the memory store says the
    /// sequence is not found whatever it is; the file store says so only within the stream, "no message found" below
    /// its first sequence and "stream store EOF" past its last (2.9.10, both stores, side by side).
    /// </summary>
    private ApiError NotDeleted(ulong sequence, LogState state)
        => _config!.Storage == StorageType.Memory || sequence > 0 && sequence >= state.FirstSequence && sequence <= state.LastSequence
            ? ApiError.SequenceNotFound(sequence)
            : ApiError.DeleteFailed(sequence > state.LastSequence ? "stream store EOF" : "no message found");

    public async Task<StreamResult<ulong>> Purge(PurgeRequest request)
    {
        if (_config is null || _log is null)
            return StreamResult<ulong>.Fail(ApiError.StreamNotFound);
        if (_config.Sealed)
            return StreamResult<ulong>.Fail(ApiError.StreamSealed);
        if (_config.DenyPurge)
            return StreamResult<ulong>.Fail(ApiError.PurgeNotPermitted);
        if (request.Sequence > 0 && request.Keep > 0)
            return StreamResult<ulong>.Fail(new ApiError(400, 10003, "bad request"));
        var filter = string.IsNullOrEmpty(request.Filter) ? null : request.Filter;
        ulong purged;
        using (var lease = await UseLogAsync())
            purged = lease.Log.Purge(filter, request.Sequence, request.Keep);
        ReportUsage();
        signals.Poke(Key);
        if (await ReplicateRemovalsAsync() is { } error)
            return StreamResult<ulong>.Fail(error);
        return StreamResult<ulong>.Ok(purged);
    }

    public async Task<Immutable<StreamRead>> Read(ulong fromSequence, int maxCount, long maxBytes, string[] filters)
    {
        if (_log is null)
            return StreamRead.Empty.AsImmutable();
        // Past the end (a consumer that caught up): answered without opening the log.
        if (_log.TryGetState(out var known) && fromSequence > Readable(known.LastSequence))
            return ConsumerReads.CaughtUp(Readable(known.LastSequence), fromSequence, known.FirstSequence).AsImmutable();
        using var lease = await UseLogAsync();
        var log = lease.Log;
        return ConsumerReads.Read(log, Readable(log.State.LastSequence), fromSequence, maxCount, maxBytes, filters).AsImmutable();
    }

    /// <remarks>
    /// Not held to the committed sequence: the sequences were delivered (or picked by <see cref="LastPerSubject"/>) once
    /// committed, so a promoted primary holds them even before it has committed anything itself.
    /// </remarks>
    public async Task<Immutable<StreamRead>> ReadAt(ulong[] sequences)
    {
        var records = new List<LogRecord>(sequences.Length);
        if (_log is null)
            return StreamRead.From(records, 0, 0).AsImmutable();
        using var lease = await UseLogAsync();
        var log = lease.Log;
        foreach (var seq in sequences)
            if (log.TryGet(seq, out var record))
                records.Add(record);
        return StreamRead.From(records, log.State.LastSequence, 0).AsImmutable();
    }

    public async Task<ulong> CountPending(ulong fromSequence, string[] filters)
    {
        // Nothing at or after the sequence: known without opening the log (consumers of quiet streams ask often).
        if (_log is null || _log.TryGetState(out var state) && (state.Messages == 0 || fromSequence > Readable(state.LastSequence)))
            return 0;
        using var lease = await UseLogAsync();
        return ConsumerReads.CountFrom(lease.Log, fromSequence, Readable(lease.Log.State.LastSequence), filters);
    }

    public async Task<ulong[]> LastPerSubject(string[] filters)
    {
        if (_log is null)
            return Array.Empty<ulong>();
        var result = new SortedSet<ulong>();
        using (var lease = await UseLogAsync())
        {
            var log = lease.Log;
            foreach (var filter in filters.Length == 0 ? [">"] : filters)
            {
                foreach (var subject in log.SubjectCounts(filter).Keys)
                {
                    var last = log.GetSubjectState(subject).Last;
                    if (last > 0)
                        result.Add(last);
                }
            }
        }
        // The last of a subject that is not committed yet may be lost, and the one before it is the answer then.
        if (_replication is not null && result.Count > 0)
            await WaitCommittedAsync(result.Max);
        return result.ToArray();
    }

    public async Task<ulong> SequenceAtTime(DateTime time)
    {
        if (_log is null)
            return 0ul;
        ulong found, last;
        using (var lease = await UseLogAsync())
        {
            last = lease.Log.State.LastSequence;
            found = FirstAtOrAfter(lease.Log, (time.ToUniversalTime().Ticks - UnixEpochTicks) * 100);
        }
        // The answer rests on the messages up to it (or all of them): those must be the ones that stay.
        if (_replication is not null)
            await WaitCommittedAsync(Math.Min(found, last));
        return found;
    }

    private static ulong FirstAtOrAfter(IMessageLog log, long nanos)
    {
        var chunk = new List<LogRecord>(1024);
        ulong next = log.State.FirstSequence;
        while (next <= log.State.LastSequence)
        {
            chunk.Clear();
            if (log.Read(next, 1024, 0, null, chunk) == 0)
                break;
            foreach (var record in chunk)
                if (record.TimestampNanos >= nanos)
                    return record.Sequence;
            next = chunk[^1].Sequence + 1;
        }
        return log.State.LastSequence + 1;
    }

    public async Task<StreamResult<PlatformConsumerInfo>> AddConsumer(PlatformConsumerConfig config)
    {
        if (_config is null)
            return StreamResult<PlatformConsumerInfo>.Fail(ApiError.StreamNotFound);
        ThrowIfMoving();
        if (ConsumerRules.Check(_config, config, node.IsCluster) is { } invalid)
            return StreamResult<PlatformConsumerInfo>.Fail(invalid);
        var name = config.Name!;
        if (config.Partition < 0 || config.Partition >= StreamKeys.Count(_config))
            return StreamResult<PlatformConsumerInfo>.Fail(new ApiError(400, 10012, $"consumer partition must be between 0 and {StreamKeys.Count(_config) - 1}"));
        if (!_consumers.ContainsKey(name) && _config.MaxConsumers > 0 && _consumers.Count >= _config.MaxConsumers)
            return StreamResult<PlatformConsumerInfo>.Fail(new ApiError(400, 10026, "maximum consumers limit reached"));
        if (CheckWorkQueue(config) is { } refused)
            return StreamResult<PlatformConsumerInfo>.Fail(refused);
        var result = await GrainFactory.GetGrain<IConsumerGrain>(ConsumerKey.Of(Name, name))
            .Create(Name, config, reportAcks: _config.Retention != RetentionPolicy.Limits);
        if (result.Error is null)
            _consumers[name] = result.Value!.Config;
        return result;
    }

    public Task<bool> RemoveConsumer(string name) => Task.FromResult(_consumers.Remove(name));

    public async Task Acked(string consumer, ulong[] sequences)
    {
        if (_config is null || _log is null)
            return;
        using (var lease = await UseLogAsync())
        {
            var log = lease.Log;
            foreach (var seq in sequences)
            {
                if (_config.Retention == RetentionPolicy.WorkQueue)
                {
                    log.Delete(seq);
                }
                else if (_config.Retention == RetentionPolicy.Interest && _interest.TryGetValue(seq, out var left))
                {
                    if (left <= 1)
                    {
                        _interest.Remove(seq);
                        log.Delete(seq);
                    }
                    else
                    {
                        _interest[seq] = left - 1;
                    }
                }
            }
        }
        ReportUsage();
        await ReplicateRemovalsAsync();
    }

    /// <summary>Workqueue streams hand each message to exactly one consumer, so consumers must not overlap.</summary>
    private ApiError? CheckWorkQueue(PlatformConsumerConfig config)
    {
        if (_config!.Retention != RetentionPolicy.WorkQueue || _consumers.ContainsKey(config.Name!))
            return null;
        if (config.AckPolicy == AckPolicy.None)
            return new ApiError(400, 10084, config.IsPush ? "consumer in push mode requires ack policy" : "consumer in pull mode requires ack policy");
        foreach (var other in _consumers.Values)
        {
            if (config.Filters.Length == 0 || other.Filters.Length == 0)
                return new ApiError(400, config.Filters.Length == 0 ? 10099 : 10100,
                    config.Filters.Length == 0 ? "multiple non-filtered consumers not allowed on workqueue stream" : "filtered consumer not unique on workqueue stream");
            foreach (var mine in config.Filters)
                foreach (var theirs in other.Filters)
                    if (SubjectMatch.Overlaps(mine, theirs))
                        return new ApiError(400, 10100, "filtered consumer not unique on workqueue stream");
        }
        return null;
    }

    public Task<string[]> ConsumerNames() => Task.FromResult(_consumers.Keys.ToArray());
}
