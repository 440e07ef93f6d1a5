using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Platform.Grains.Cluster;
using Platform.Grains.Node;
using Platform.Grains.Replication;
using Platform.Grains.Storage;
using Platform.Grains.Streams;

namespace Platform.Grains.Consumers;

/// <summary>
/// A consumer's delivery state: where it is in the stream, what is delivered and not yet acknowledged, and when it
/// is due again. It learns of new messages from the stream's watermark (<see cref="StreamSignals"/>), reads them in
/// batches from the stream grain and hands batches to whoever fetches. Reentrant so acks are applied while a fetch
/// waits; the collect lock keeps two fetches from delivering the same message.
/// </summary>
[Reentrant]
[CollectionAgeLimit(AlwaysActive = true)]
[StreamHomePlacement]
internal sealed partial class ConsumerGrain(StreamStore store, StreamSignals signals, PushConsumers pushConsumers, CatalogView catalog, NodeIdentity node,
    PinEvents pinEvents, ILogger<ConsumerGrain> logger)
    : Grain, IConsumerGrain
{
    private static readonly TimeSpan SaveInterval = TimeSpan.FromSeconds(1);

    private readonly SortedDictionary<ulong, Pending> _pending = [];
    private readonly Queue<ulong> _initial = new();
    private readonly SemaphoreSlim _collect = new(1, 1);
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Overflow pull requests waiting for their thresholds.</summary>
    private int _heldByOverflow;
    private string _stream = "";
    private string _name = "";
    private PlatformConsumerConfig? _config;
    private DateTime _created;
    private ulong _cursor = 1;
    /// <summary>The last pending count a fetch reported: the estimate of the pending token in a max_bytes count.</summary>
    private ulong _pendingEstimate;
    private PullSize? _sizes;
    private PullSize Sizes => _sizes ??= new PullSize(_stream, _name);
    private ulong _deliveredConsumerSeq, _deliveredStreamSeq;
    private ulong _ackFloorConsumerSeq, _ackFloorStreamSeq;
    private DateTime? _lastActive;
    private long _lastActivityTicks = Environment.TickCount64;
    private int _activeFetches;
    /// <summary>The last collect found new messages but max_ack_pending left no room: only acks can unblock it.</summary>
    private bool _blockedByAckPending;
    private bool _dirty;
    /// <summary>Creates in progress: while one runs, the activation is about to hold a consumer.</summary>
    private int _creates;
    private bool _reportAcks;
    /// <summary>Messages that reached max_deliver since the last fetch returned: the gateway publishes the advisories.</summary>
    private List<ulong>? _exhausted;
    private IGrainTimer? _timer;
    /// <summary>Deliveries and acks since the snapshot of <see cref="_generation"/>; open once the consumer is persisted.</summary>
    private ConsumerJournal? _journal;
    private ulong _generation;
    /// <summary>The stream is moving to another node with this consumer's files: no delivery, no ack, no save here.</summary>
    private bool _moving;
    /// <summary>Saved for the move: the files are being copied and must not change.</summary>
    private bool _frozen;
    /// <summary>Ships the state to the replicas of a replicated stream; null for a stream of one copy, whose path it never touches.</summary>
    private ConsumerReplication? _replication;

    private sealed class Pending(ulong consumerSeq, int deliveries, long deadline)
    {
        public ulong ConsumerSeq = consumerSeq;
        public int Deliveries = deliveries;
        public long Deadline = deadline;
    }

    /// <summary>The partition this consumer reads (the stream itself when unpartitioned).</summary>
    private string StreamKey => StreamKeys.Partition(_stream, _config?.Partition ?? 0);
    // GetGrain resolves the interface type through its attributes on every call, which showed in profiles of a busy
    // consumer; the reference is kept per partition instead (the partition can only change before the first read).
    private IStreamGrain Stream
    {
        get
        {
            int partition = _config?.Partition ?? 0;
            if (_streamGrain is null || _streamGrainPartition != partition)
            {
                _streamGrain = GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(_stream, partition));
                _streamGrainPartition = partition;
            }
            return _streamGrain;
        }
    }
    private IStreamGrain? _streamGrain;
    private int _streamGrainPartition;
    /// <summary>Partition 0 keeps the stream's list of consumers.</summary>
    private IStreamGrain StreamRoot => GrainFactory.GetGrain<IStreamGrain>(_stream);
    private bool Persisted => _config is { } c && !c.MemoryStorage && c.IsDurable;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_stream, _name) = ConsumerKey.Parse(this.GetPrimaryKeyString());
        // Consumers live with their stream's partition 0; elsewhere this one's state is not there.
        await catalog.EnsureHomeAsync(node, _stream, 0);
        if (ConsumerStore.Load(store, _stream, _name) is { } snapshot)
        {
            Restore(snapshot);
            Replay();
            StartReplication();
            // A fresh snapshot folds the replayed journal in and starts a new one for this activation.
            _dirty = true;
            SaveIfDirty();
            pushConsumers.Activated(_stream, _name, _config!);
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // The delivery loop stays (a delete or a move stops it): its next fetch brings the consumer back, here at home,
        // whatever made Orleans deactivate it.
        _timer?.Dispose();
        SaveIfDirty();
        _journal?.Dispose();
        _journal = null;
        return Task.CompletedTask;
    }

    public async Task<StreamResult<PlatformConsumerInfo>> Create(string stream, PlatformConsumerConfig config, bool reportAcks)
    {
        _creates++;
        try
        {
            return await CreateOrUpdate(stream, config, reportAcks);
        }
        finally
        {
            _creates--;
        }
    }

    private async Task<StreamResult<PlatformConsumerInfo>> CreateOrUpdate(string stream, PlatformConsumerConfig config, bool reportAcks)
    {
        if (_config is not null)
        {
            if (config.AckPolicy != _config.AckPolicy)
                return StreamResult<PlatformConsumerInfo>.Fail(new ApiError(500, 10012, "ack policy can not be updated"));
            if (config.DeliverPolicy != _config.DeliverPolicy)
                return StreamResult<PlatformConsumerInfo>.Fail(new ApiError(500, 10012, "deliver policy can not be updated"));
            if (config.IsPush != _config.IsPush)
                return StreamResult<PlatformConsumerInfo>.Fail(new ApiError(500, 10012, "can not update push consumer to pull based"));
            // As nats-server: an update never pauses or resumes, only the PAUSE API does.
            _config = config with { PauseUntil = _config.PauseUntil };
            if (config.PriorityPolicy != PriorityPolicy.PinnedClient)
                _pinId = null;
            _dirty = true;
            SaveIfDirty();
            pushConsumers.Activated(_stream, _name, _config);
            return StreamResult<PlatformConsumerInfo>.Ok(await BuildInfo());
        }
        _stream = stream;
        _streamGrain = null;
        _config = config;
        _reportAcks = reportAcks;
        _created = DateTime.UtcNow;
        switch (config.DeliverPolicy)
        {
            case DeliverPolicy.All:
                _cursor = 1;
                break;
            case DeliverPolicy.Last:
                var last = await Stream.LastPerSubject(config.Filters);
                _cursor = config.Filters.Length == 0 || last.Length == 0
                    ? Math.Max(1, await LastReadableAsync())
                    : last[^1];
                break;
            case DeliverPolicy.New:
                _cursor = await LastReadableAsync() + 1;
                break;
            case DeliverPolicy.ByStartSequence:
                _cursor = Math.Max(1, config.OptStartSeq);
                break;
            case DeliverPolicy.ByStartTime:
                _cursor = await Stream.SequenceAtTime(config.OptStartTime ?? DateTime.UtcNow);
                break;
            case DeliverPolicy.LastPerSubject:
                foreach (var seq in await Stream.LastPerSubject(config.Filters))
                    _initial.Enqueue(seq);
                _cursor = await LastReadableAsync() + 1;
                break;
        }
        if (_initial.Count == 0)
            _cursor = await WithinStreamAsync(_cursor);
        // As nats-server reports it: delivered starts just below where delivery will begin.
        _deliveredStreamSeq = (_initial.Count > 0 ? _initial.Peek() : _cursor) - 1;
        _lastActivityTicks = Environment.TickCount64;
        _dirty = true;
        StartReplication();
        if (!SaveIfDirty())
        {
            // A durable whose state cannot be written would be forgotten at the next restart: refuse it now.
            _config = null;
            _dirty = false;
            _replication = null;
            DeactivateOnIdle();
            return StreamResult<PlatformConsumerInfo>.Fail(new ApiError(500, 10012, "error creating store for consumer"));
        }
        StartTimer();
        await ReplicatedAsync();
        pushConsumers.Activated(_stream, _name, config);
        logger.LogDebug("Created consumer {Stream}/{Consumer}", _stream, _name);
        return StreamResult<PlatformConsumerInfo>.Ok(await BuildInfo());
    }

    /// <summary>
    /// A start position brought within the stream, as nats-server does: not below its first message, and not past the
    /// one after its last (a start sequence beyond the end begins with the next message stored).
    /// </summary>
    private async Task<ulong> WithinStreamAsync(ulong cursor)
    {
        if ((await Stream.GetInfo(false, null)).Value is not { } info)
            return cursor;
        ulong first = Math.Max(1, info.State.FirstSequence);
        return Math.Clamp(cursor, first, Math.Max(first, info.State.LastSequence + 1));
    }

    /// <summary>
    /// The stream's last sequence this consumer may read, where deliver policies new and last start: of a replicated
    /// stream, the last its replicas hold. A start past messages the primary has not replicated yet would skip what a
    /// promoted replica stores at their sequences; those messages were not acknowledged yet, and are delivered as new.
    /// </summary>
    private async Task<ulong> LastReadableAsync() => (await Stream.Read(ulong.MaxValue, 0, 0, [])).Value.LastSequence;

    public async Task<PlatformConsumerInfo?> Info()
    {
        if (NoSuchConsumer())
            return null;
        ThrowIfMoving();
        return await BuildInfo();
    }

    public Task<PlatformConsumerConfig?> GetConfig()
    {
        if (NoSuchConsumer())
            return Task.FromResult<PlatformConsumerConfig?>(null);
        ThrowIfMoving();
        return Task.FromResult(_config);
    }

    /// <summary>
    /// Whether this activation is for a consumer that does not exist (a lookup, pull or ack for any name a client
    /// sends activates one): then it goes once the call is over, rather than stay for the life of the silo.
    /// </summary>
    private bool NoSuchConsumer()
    {
        if (_config is not null)
            return false;
        // A create in progress (the grain is reentrant) is about to make the consumer: the activation must stay.
        if (_creates == 0)
            DeactivateOnIdle();
        return true;
    }


    public Task<ulong> AckFloor() => Task.FromResult(_config is null ? ulong.MaxValue : _ackFloorStreamSeq);

    private async Task<PlatformConsumerInfo> BuildInfo()
    {
        var config = _config!;
        ExpirePin();
        ulong pending = (ulong)_initial.Count + await Stream.CountPending(_cursor, config.Filters);
        long redelivered = 0;
        foreach (var p in _pending.Values)
            if (p.Deliveries > 1) redelivered++;
        return new PlatformConsumerInfo(_stream, _name, _created, config,
            new SequencePair(_deliveredConsumerSeq, _deliveredStreamSeq), _lastActive,
            new SequencePair(_ackFloorConsumerSeq, _ackFloorStreamSeq),
            _pending.Count, redelivered, pending, _pinId, _pinId is null ? null : _pinnedAt, _replication?.Peers());
    }

    public async Task<bool> Delete()
    {
        if (_config is null)
            return false;
        var partitionKey = StreamKey;
        _config = null;
        pushConsumers.Deactivated(_stream, _name);
        _timer?.Dispose();
        _timer = null;
        _pending.Clear();
        _initial.Clear();
        _dirty = false;
        _journal?.Dispose();
        _journal = null;
        ConsumerStore.Delete(store, _stream, _name);
        if (_replication is not null)
            await _replication.DeleteAsync();
        _replication = null;
        await StreamRoot.RemoveConsumer(_name);
        Wake();
        signals.Poke(partitionKey);
        DeactivateOnIdle();
        return true;
    }

    public async Task<PlatformConsumerConfig?> Pause(DateTime? until)
    {
        if (NoSuchConsumer())
            return null;
        ThrowIfMoving();
        var previous = _config!;
        _config = previous with { PauseUntil = until };
        _dirty = true;
        if (!SaveIfDirty())
        {
            _config = previous;
            throw new IOException($"Consumer {_stream}/{_name}: the pause could not be saved.");
        }
        await ReplicatedAsync();
        // A fetch waiting out the old pause looks again at the new one.
        Wake();
        pushConsumers.Activated(_stream, _name, _config);
        return _config;
    }

    /// <summary>Milliseconds until a paused consumer resumes (at least 1); null when it is not paused.</summary>
    private long? PausedMillis()
    {
        if (_config?.PauseUntil is null)
            return null;
        var remaining = _config.PauseRemaining(DateTime.UtcNow);
        return remaining > TimeSpan.Zero ? Math.Max(1, (long)Math.Ceiling(remaining.TotalMilliseconds)) : null;
    }

    public async Task<bool> BeginMove()
    {
        if (NoSuchConsumer())
            return false;
        _moving = true;
        pushConsumers.Deactivated(_stream, _name);
        // A delivery being collected finishes (and is journaled) before the files are taken.
        await _collect.WaitAsync();
        _collect.Release();
        _timer?.Dispose();
        _timer = null;
        _dirty = true;
        bool saved = SaveIfDirty();
        _frozen = true;
        _journal?.Dispose();
        _journal = null;
        Wake();
        return saved;
    }

    public Task EndMove(bool moved)
    {
        if (!_moving)
            return Task.CompletedTask;
        if (moved)
        {
            // The state went with the files; nothing more is written here, and the next call activates the new home.
            DeactivateOnIdle();
            return Task.CompletedTask;
        }
        _moving = false;
        _frozen = false;
        _dirty = true;
        SaveIfDirty();
        StartTimer();
        pushConsumers.Activated(_stream, _name, _config!);
        return Task.CompletedTask;
    }

    private void ThrowIfMoving()
    {
        if (_moving)
            throw new StreamOfflineException(_stream, "it is moving to another node");
        if (_replication is { Fenced: true })
        {
            // A replica was promoted and serves this consumer from the state shipped to it; this copy goes.
            DeactivateOnIdle();
            throw new StreamOfflineException(_stream, "its primary moved to another node");
        }
    }

    public Task FlowControlAnswered(string subject)
    {
        if (!NoSuchConsumer())
            pushConsumers.FlowControlAnswered(_stream, _name, subject);
        return Task.CompletedTask;
    }

    public Task<Immutable<DeliveryBatch>> Fetch(int maxMessages, long maxBytes, TimeSpan wait, Immutable<AckOp[]> acks)
        => Fetch(maxMessages, maxBytes, wait, acks, default, default);

    public Task<Immutable<DeliveryBatch>> Fetch(int maxMessages, long maxBytes, TimeSpan wait, Immutable<AckOp[]> acks, OverflowThresholds overflow)
        => Fetch(maxMessages, maxBytes, wait, acks, overflow, default);

    public async Task<Immutable<DeliveryBatch>> Fetch(int maxMessages, long maxBytes, TimeSpan wait, Immutable<AckOp[]> acks, OverflowThresholds overflow, PinRequest pin)
    {
        if (NoSuchConsumer())
            return Empty(FetchStatus.Deleted);
        ThrowIfMoving();
        if (acks.Value.Length > 0)
            await ApplyAcksAsync(acks.Value, durable: false);
        bool pinned = _config!.PriorityPolicy == PriorityPolicy.PinnedClient;
        if (pinned && Admit(pin) is { } refused)
            return Empty(refused);
        // A request in a group without a pin id waits its turn for a free pin, oldest first.
        bool pinWaiter = pinned && !pin.IsNone && string.IsNullOrEmpty(pin.Id);
        if (pinWaiter)
            _pinWaiters.Add(pin.Arrival);
        _activeFetches++;
        _lastActivityTicks = Environment.TickCount64;
        _lastActive = DateTime.UtcNow;
        try
        {
            long deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
            while (true)
            {
                int allowed = overflow.IsNone ? maxMessages : await OverflowAllowance(overflow, maxMessages);
                var turn = pinned ? PinTurnOf(pin) : PinTurn.Served;
                if (turn == PinTurn.Wrong)
                    return Empty(FetchStatus.WrongPinId);
                if (turn == PinTurn.Held)
                    allowed = 0;
                var servedPin = turn == PinTurn.Served ? _pinId : null;
                if (turn == PinTurn.Claims)
                    _pinClaiming = true;
                Immutable<DeliveryBatch> batch;
                try
                {
                    batch = await Collect(allowed, maxBytes);
                }
                finally
                {
                    if (turn == PinTurn.Claims)
                        _pinClaiming = false;
                }
                if (turn == PinTurn.Claims)
                {
                    if (batch.Value.Count > 0 && _config is not null)
                        servedPin = AssignPin(pin.Group!);
                    // The others waited on this claim: someone is pinned now, or the pin is free again.
                    Wake();
                }
                if (pinned && batch.Value.Count > 0)
                    batch = (batch.Value with { PinId = servedPin }).AsImmutable();
                if (_config is null)
                    return Empty(FetchStatus.Deleted);
                long now = Environment.TickCount64;
                if (batch.Value.Count > 0 || batch.Value.MaxDeliveriesReached is not null || batch.Value.Status != FetchStatus.Ok || now >= deadline)
                {
                    // Deliveries raise ack pending, which may be what a held overflow request waits for.
                    if (batch.Value.Count > 0 && _heldByOverflow > 0)
                        Wake();
                    return batch;
                }
                long timeout = deadline - now;
                var paused = PausedMillis();
                // Paused, neither redeliveries nor new messages are due before the pause ends (or a resume wakes it).
                if (paused is null && NextRedelivery() is { } due)
                    timeout = Math.Clamp(due - now, 1, timeout);
                var wake = _wake.Task;
                // Blocked on max_ack_pending, new messages are no reason to look again; waiting on the stream would spin.
                // Held by its thresholds, a request looks again at any new message (the stream's last sequence moving
                // past the largest one), since messages already past the cursor are not enough. Held by another's
                // pin, only a pin change (a wake) or the pin running out lets it in.
                var streamAdvanced = paused is { } pause
                    ? Task.Delay(TimeSpan.FromMilliseconds(Math.Min(timeout, pause)))
                    : turn == PinTurn.Held
                    ? Task.Delay(TimeSpan.FromMilliseconds(_pinId is null ? timeout : Math.Clamp(_pinExpires - now, 1, timeout)))
                    : _blockedByAckPending
                    ? Task.Delay(TimeSpan.FromMilliseconds(timeout))
                    : signals.WaitBeyondAsync(StreamKey, allowed == 0 ? ulong.MaxValue : _cursor - 1, TimeSpan.FromMilliseconds(timeout));
                bool heldByOverflow = allowed == 0 && turn != PinTurn.Held;
                if (heldByOverflow)
                    _heldByOverflow++;
                try
                {
                    await Task.WhenAny(streamAdvanced, wake);
                }
                finally
                {
                    if (heldByOverflow)
                        _heldByOverflow--;
                }
                if (_config is null)
                    return Empty(FetchStatus.Deleted);
            }
        }
        finally
        {
            _activeFetches--;
            _lastActivityTicks = Environment.TickCount64;
            if (pinWaiter)
            {
                _pinWaiters.Remove(pin.Arrival);
                // It may have been the oldest, which the others waited for.
                if (_pinId is null && _pinWaiters.Count > 0)
                    Wake();
            }
        }
    }

    /// <summary>
    /// How many of the next messages an overflow request may take now: nats-server checks its thresholds before each
    /// message, so with min_pending it takes them while the pending count, the message itself included, stays at or
    /// above the threshold, and once min_ack_pending is reached (its own deliveries add to ack pending) it takes all.
    /// </summary>
    private async Task<int> OverflowAllowance(OverflowThresholds overflow, int maxMessages)
    {
        var config = _config;
        if (config is null)
            return maxMessages;
        long ackPending = config.AckPolicy == AckPolicy.None ? 0 : _pending.Count;
        if (overflow.MinAckPending > 0 && ackPending >= overflow.MinAckPending)
            return maxMessages;
        if (overflow.MinPending <= 0)
            return 0;
        long pending = _initial.Count + (long)await Stream.CountPending(_cursor, config.Filters);
        long room = pending - overflow.MinPending + 1;
        if (room <= 0)
            return 0;
        if (overflow.MinAckPending > 0 && config.AckPolicy != AckPolicy.None && overflow.MinAckPending - ackPending <= room)
            return maxMessages;
        return (int)Math.Min(maxMessages, room);
    }

    private long? NextRedelivery()
    {
        long? next = null;
        foreach (var p in _pending.Values)
            if (next is null || p.Deadline < next) next = p.Deadline;
        return next;
    }

    private async Task<Immutable<DeliveryBatch>> Collect(int maxMessages, long maxBytes)
    {
        await _collect.WaitAsync();
        try
        {
            ThrowIfMoving();
            var config = _config;
            if (config is null || maxMessages <= 0)
                return Empty(config is null ? FetchStatus.Deleted : FetchStatus.Ok);
            // nats-server's paused consumer sends nothing, redeliveries included; pull requests wait for the end.
            if (PausedMillis() is not null)
                return Empty(FetchStatus.Ok);
            var delivered = new List<(ulong Sseq, ulong Cseq, int Deliveries, ReadOnlyMemory<byte> Record)>();
            long bytes = 0;
            long now = Environment.TickCount64;
            bool acks = config.AckPolicy != AckPolicy.None;

            if (acks && _pending.Count > 0)
            {
                var due = new List<ulong>();
                foreach (var (sseq, p) in _pending)
                {
                    if (p.Deadline > now) continue;
                    if (config.MaxDeliver > 0 && p.Deliveries >= config.MaxDeliver)
                        continue;
                    due.Add(sseq);
                    if (due.Count == maxMessages) break;
                }
                DropExhausted(config, now);
                if (due.Count > 0)
                {
                    var read = (await Stream.ReadAt([.. due])).Value;
                    var found = new HashSet<ulong>();
                    int offset = 0;
                    for (int i = 0; i < read.Count; i++)
                    {
                        StreamRead.ReadFrame(read.Frames, ref offset, out var sseq, out var record);
                        found.Add(sseq);
                        if (!_pending.TryGetValue(sseq, out var p)) continue;
                        long size = maxBytes > 0 ? Sizes.Of(record, p.Deliveries + 1, sseq, _deliveredConsumerSeq + 1, _pendingEstimate) : 0;
                        if (maxBytes > 0 && bytes + size > maxBytes)
                        {
                            if (delivered.Count == 0) return Empty(FetchStatus.TooLarge);
                            break;
                        }
                        bytes += size;
                        p.Deliveries++;
                        p.ConsumerSeq = ++_deliveredConsumerSeq;
                        p.Deadline = now + AckWaitMillis(config, p.Deliveries);
                        delivered.Add((sseq, p.ConsumerSeq, p.Deliveries, read.Frames.AsMemory(offset - record.Length, record.Length)));
                    }
                    // Messages removed from the stream meanwhile are no longer owed to anyone.
                    foreach (var sseq in due)
                        if (!found.Contains(sseq)) _pending.Remove(sseq);
                }
            }

            int room = maxMessages - delivered.Count;
            // What the stream counted past the cursor in the read below, saving a CountPending call per fetch.
            ulong? pendingAfterCursor = null;
            _blockedByAckPending = false;
            if (acks && config.MaxAckPending > 0 && _pending.Count >= config.MaxAckPending)
            {
                room = 0;
                _blockedByAckPending = true;
            }
            else if (acks && config.MaxAckPending > 0)
            {
                room = (int)Math.Min(room, config.MaxAckPending - _pending.Count);
            }
            if (room > 0 && (maxBytes <= 0 || bytes < maxBytes))
            {
                // With max_bytes, at most as many as could fit; each is then counted as nats-server counts it.
                if (maxBytes > 0)
                    room = (int)Math.Min(room, (maxBytes - bytes) / Sizes.Least + 1);
                StreamRead read;
                bool fromInitial = _initial.Count > 0;
                ulong[] take = [];
                if (fromInitial)
                {
                    // Taken off the list only once delivered: a snapshot taken while the read is out must still owe them.
                    take = new ulong[Math.Min(room, _initial.Count)];
                    int taken = 0;
                    foreach (var seq in _initial)
                    {
                        if (taken == take.Length) break;
                        take[taken++] = seq;
                    }
                    read = (await Stream.ReadAt(take)).Value;
                }
                else
                {
                    read = store.OpenLogs.TryReadForConsumer(StreamKey, _cursor, room, 0, config.Filters)
                        ?? (await Stream.Read(_cursor, room, 0, config.Filters)).Value;
                }
                int offset = 0;
                ulong stoppedAt = 0;
                for (int i = 0; i < read.Count; i++)
                {
                    StreamRead.ReadFrame(read.Frames, ref offset, out var sseq, out var record);
                    if (maxBytes > 0)
                    {
                        long size = Sizes.Of(record, 1, sseq, _deliveredConsumerSeq + 1, _pendingEstimate);
                        if (bytes + size > maxBytes)
                        {
                            stoppedAt = sseq;
                            break;
                        }
                        bytes += size;
                    }
                    ulong cseq = ++_deliveredConsumerSeq;
                    _deliveredStreamSeq = Math.Max(_deliveredStreamSeq, sseq);
                    if (acks)
                        _pending[sseq] = new Pending(cseq, 1, now + AckWaitMillis(config, 1));
                    delivered.Add((sseq, cseq, 1, read.Frames.AsMemory(offset - record.Length, record.Length)));
                }
                if (fromInitial)
                {
                    // ReadAt leaves out what was removed since the list was made: all that was asked for is settled, up
                    // to the message that did not fit. Counting only what came back re-sent messages and, with the
                    // list's last one removed, stalled the consumer for good.
                    int settled = stoppedAt > 0 ? Array.IndexOf(take, stoppedAt) : take.Length;
                    for (int i = 0; i < settled; i++)
                        _initial.Dequeue();
                }
                else if (stoppedAt > 0)
                {
                    // The message that did not fit is the next one owed.
                    _cursor = stoppedAt;
                }
                else
                {
                    if (read.NextSequence > _cursor)
                    {
                        _cursor = read.NextSequence;
                        // Delivered as far as the read went, past what the filter skipped: nats-server's delivered
                        // stream sequence is its read position, and the ack floor follows it once nothing is owed.
                        _deliveredStreamSeq = Math.Max(_deliveredStreamSeq, _cursor - 1);
                    }
                    if (read.NextSequence == _cursor)
                        pendingAfterCursor = read.Pending;
                }
                if (stoppedAt > 0 && delivered.Count == 0)
                    return Empty(FetchStatus.TooLarge);
            }

            if (delivered.Count == 0)
                return _exhausted is null ? Empty(FetchStatus.Ok) : new DeliveryBatch([], 0, 0, 0, FetchStatus.Ok, 0, 0, TakeExhausted()).AsImmutable();
            _dirty = true;
            if (!acks)
                FloorAtDelivered(delivered[^1].Sseq);
            JournalDeliveries(config, delivered);
            ulong numPending = (ulong)_initial.Count + (pendingAfterCursor ?? await Stream.CountPending(_cursor, config.Filters));
            _pendingEstimate = numPending;
            return Frame(delivered, numPending);
        }
        finally
        {
            _collect.Release();
        }
    }

    /// <summary>
    /// Records the fetch so that acks for these messages, journaled later, still find them pending after a crash. A
    /// record lost here costs a redelivery, never a skipped message: the snapshot never runs ahead of delivery.
    /// </summary>
    private void JournalDeliveries(PlatformConsumerConfig config, List<(ulong Sseq, ulong Cseq, int Deliveries, ReadOnlyMemory<byte> Record)> delivered)
    {
        if (_journal is null || !Persisted)
            return;
        try
        {
            long wallNow = WallClockMillis();
            _journal.BeginDelivered(_cursor, _deliveredConsumerSeq, _deliveredStreamSeq);
            foreach (var d in delivered)
                _journal.AddDelivery(d.Sseq, d.Cseq, d.Deliveries, wallNow + AckWaitMillis(config, d.Deliveries));
            _journal.EndRecord();
            _replication?.Journaled(_journal.LastRecord);
        }
        catch (IOException ex)
        {
            logger.LogError(ex, "Journaling deliveries of consumer {Stream}/{Consumer} failed", _stream, _name);
        }
    }

    private static long WallClockMillis() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>
    /// Messages past max_deliver stop being redelivered and stop counting against max_ack_pending. They were never
    /// acknowledged, so the ack floor stays below them (as on nats-server): an interest stream keeps them for whoever
    /// handles the max-deliveries advisory by reading the message.
    /// </summary>
    private void DropExhausted(PlatformConsumerConfig config, long now)
    {
        if (config.MaxDeliver <= 0)
            return;
        List<ulong>? exhausted = null;
        foreach (var (sseq, p) in _pending)
            if (p.Deadline <= now && p.Deliveries >= config.MaxDeliver)
                (exhausted ??= []).Add(sseq);
        if (exhausted is null)
            return;
        foreach (var sseq in exhausted)
        {
            _pending.Remove(sseq);
            (_exhausted ??= []).Add(sseq);
            logger.LogDebug("Consumer {Stream}/{Consumer}: message {Seq} reached max_deliver", _stream, _name, sseq);
        }
    }

    private static long AckWaitMillis(PlatformConsumerConfig config, int deliveries)
    {
        long nanos = config.Backoff is { Length: > 0 } backoff ? backoff[Math.Min(deliveries - 1, backoff.Length - 1)] : config.AckWait;
        return Math.Max(1, nanos / 1_000_000);
    }

    private Immutable<DeliveryBatch> Frame(List<(ulong Sseq, ulong Cseq, int Deliveries, ReadOnlyMemory<byte> Record)> delivered, ulong numPending)
    {
        int size = 0;
        foreach (var d in delivered)
            size += 32 + d.Record.Length;
        var frames = new byte[size];
        int p = 0;
        for (int i = 0; i < delivered.Count; i++)
        {
            var d = delivered[i];
            var span = frames.AsSpan(p);
            BinaryPrimitives.WriteUInt64LittleEndian(span, d.Sseq);
            BinaryPrimitives.WriteUInt64LittleEndian(span[8..], d.Cseq);
            BinaryPrimitives.WriteUInt32LittleEndian(span[16..], (uint)d.Deliveries);
            BinaryPrimitives.WriteUInt64LittleEndian(span[20..], numPending + (ulong)(delivered.Count - i - 1));
            BinaryPrimitives.WriteInt32LittleEndian(span[28..], d.Record.Length);
            d.Record.Span.CopyTo(span[32..]);
            p += 32 + d.Record.Length;
        }
        var last = delivered[^1];
        return new DeliveryBatch(frames, size, delivered.Count, numPending, FetchStatus.Ok, last.Sseq, last.Cseq, TakeExhausted()).AsImmutable();
    }

    private ulong[]? TakeExhausted()
    {
        if (_exhausted is null)
            return null;
        ulong[] taken = [.. _exhausted];
        _exhausted = null;
        return taken;
    }

    private static Immutable<DeliveryBatch> Empty(FetchStatus status) => new DeliveryBatch([], 0, 0, 0, status, 0, 0).AsImmutable();

    public async Task Ack(Immutable<AckOp[]> acks, bool durable)
    {
        if (NoSuchConsumer())
            return;
        // Not applied: the message is redelivered from the new home after ack_wait, as with an ack that never came.
        ThrowIfMoving();
        await ApplyAcksAsync(acks.Value, durable);
    }

    private async Task ApplyAcksAsync(AckOp[] acks, bool durable)
    {
        var config = _config;
        if (config!.AckPolicy == AckPolicy.None)
            return;
        long now = Environment.TickCount64;
        _lastActivityTicks = now;
        List<ulong>? done = _reportAcks ? [] : null;
        foreach (var op in acks)
            Apply(config, op, now, done);
        UpdateAckFloor();
        _dirty = true;
        Wake();
        await JournalAcks(acks, durable);
        // Only a first ack is reported, so the stream counts each consumer once per message.
        if (done is { Count: > 0 })
            await Stream.Acked(_name, [.. done]);
    }

    /// <summary>
    /// Writes the acks to the journal; a durable batch (one with an AckSync to answer) fails rather than return
    /// before they would survive a crash, and with sync always waits for the shared fsync.
    /// </summary>
    private ValueTask JournalAcks(AckOp[] acks, bool durable)
    {
        if (!Persisted)
            return ValueTask.CompletedTask;
        if (_journal is null)
        {
            if (durable)
                throw new IOException($"Consumer {_stream}/{_name} has no journal: its last snapshot failed.");
            return ValueTask.CompletedTask;
        }
        try
        {
            // Naks and progress only move deadlines, which the delivery records already bound.
            _journal.BeginAcked();
            foreach (var op in acks)
            {
                if (op.Kind is AckKind.Ack or AckKind.Next or AckKind.Term)
                    _journal.AddAck(op.Kind, op.StreamSeq);
            }
            _journal.EndRecord();
            _replication?.Journaled(_journal.LastRecord);
        }
        catch (IOException ex) when (!durable)
        {
            logger.LogError(ex, "Journaling acks of consumer {Stream}/{Consumer} failed", _stream, _name);
            return ValueTask.CompletedTask;
        }
        if (!durable)
            return ValueTask.CompletedTask;
        return _replication is null ? _journal.CommitAsync() : CommitReplicatedAsync(_replication.Position);
    }

    /// <summary>A durable ack of a replicated stream's consumer: on this node's disk and on every in-sync replica.</summary>
    private async ValueTask CommitReplicatedAsync((ulong Generation, long Length) position)
    {
        var replicated = _replication!.WaitAsync(position);
        await _journal!.CommitAsync();
        await replicated;
    }

    private void Apply(PlatformConsumerConfig config, AckOp op, long now, List<ulong>? done)
    {
        switch (op.Kind)
        {
            case AckKind.Ack or AckKind.Next:
                if (config.AckPolicy == AckPolicy.All)
                {
                    // The floor is the message acknowledged, as nats-server keeps it for ack-all (UpdateAckFloor).
                    if (op.StreamSeq > _ackFloorStreamSeq && _pending.TryGetValue(op.StreamSeq, out var acked))
                        (_ackFloorConsumerSeq, _ackFloorStreamSeq) = (acked.ConsumerSeq, op.StreamSeq);
                    while (_pending.Count > 0 && _pending.First().Key <= op.StreamSeq)
                    {
                        done?.Add(_pending.First().Key);
                        _pending.Remove(_pending.First().Key);
                    }
                }
                else if (_pending.Remove(op.StreamSeq))
                {
                    done?.Add(op.StreamSeq);
                }
                break;
            case AckKind.Term:
                if (_pending.Remove(op.StreamSeq))
                    done?.Add(op.StreamSeq);
                break;
            case AckKind.Nak:
                if (_pending.TryGetValue(op.StreamSeq, out var nak))
                    nak.Deadline = now + Math.Max(0, op.DelayNanos / 1_000_000);
                break;
            case AckKind.Progress:
                if (_pending.TryGetValue(op.StreamSeq, out var progress))
                    progress.Deadline = now + AckWaitMillis(config, progress.Deliveries);
                break;
        }
    }

    /// <summary>
    /// Without acks a message is settled as it is delivered: the floor is the last one delivered, not how far the read
    /// went past what the filter skipped (nats-server's floor of an ack-none consumer).
    /// </summary>
    private void FloorAtDelivered(ulong streamSeq)
    {
        _ackFloorConsumerSeq = _deliveredConsumerSeq;
        _ackFloorStreamSeq = Math.Max(_ackFloorStreamSeq, streamSeq);
    }

    /// <summary>
    /// The explicit-ack floor: below the oldest message still owed, or as far as the consumer has read once nothing
    /// is. An ack-all consumer's floor moves only with its acks (<see cref="Apply"/>).
    /// </summary>
    private void UpdateAckFloor()
    {
        if (_config!.AckPolicy == AckPolicy.All)
            return;
        if (_pending.Count == 0)
        {
            _ackFloorConsumerSeq = _deliveredConsumerSeq;
            _ackFloorStreamSeq = _deliveredStreamSeq;
            return;
        }
        // The floor only rises: everything below the oldest message still owed has been acknowledged.
        var (first, p) = _pending.First();
        if (first - 1 > _ackFloorStreamSeq)
        {
            _ackFloorStreamSeq = first - 1;
            if (p.Deliveries == 1)
                _ackFloorConsumerSeq = Math.Max(_ackFloorConsumerSeq, p.ConsumerSeq - 1);
        }
    }

    private void Wake()
    {
        var fired = _wake;
        _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fired.TrySetResult();
    }

    private void StartTimer()
    {
        _timer?.Dispose();
        _timer = this.RegisterGrainTimer(static (self, _) => self.OnTimer(), this,
            new GrainTimerCreationOptions { DueTime = SaveInterval, Period = SaveInterval, KeepAlive = false, Interleave = true });
    }

    private async Task OnTimer()
    {
        SaveIfDirty();
        // The unpinned advisory of a pin nobody asks about any more.
        ExpirePin();
        // Retries a shipment that failed, and reaches a replica that came back in sync.
        _replication?.Ship();
        if (_replication is { Fenced: true })
            DeactivateOnIdle();
        if (_config is { InactiveThreshold: > 0 } config && _activeFetches == 0
            && Environment.TickCount64 - _lastActivityTicks > config.InactiveThreshold / 1_000_000)
        {
            logger.LogDebug("Consumer {Stream}/{Consumer} inactive, removing", _stream, _name);
            await Delete();
        }
    }

    /// <summary>
    /// For a durable consumer of a replicated stream whose primary is this node: from now on what it writes to its store
    /// goes to the stream's replicas too.
    /// </summary>
    private void StartReplication()
    {
        if (_replication is null && Persisted && node.IsCluster && catalog.TryGet(_stream, out var entry) && entry.Replicas is not null)
            _replication = new ConsumerReplication(_stream, _name, node, catalog, GrainFactory,
                ServiceProvider.GetRequiredService<IClusterMembershipService>(), logger);
    }

    /// <summary>Waits until the replicas hold the consumer as it is now; a failure leaves the shipment to the timer's retries.</summary>
    private async Task ReplicatedAsync()
    {
        if (_replication is null)
            return;
        try
        {
            await _replication.WaitAsync(_replication.Position);
        }
        catch (Exception ex) when (ex is IOException or StreamOfflineException)
        {
            logger.LogWarning("Consumer {Stream}/{Consumer} is not on every in-sync replica yet: {Reason}", _stream, _name, ex.Message);
        }
    }

    /// <summary>False when the state had to be written and could not be.</summary>
    private bool SaveIfDirty()
    {
        if (!_dirty || !Persisted || _frozen)
            return true;
        _dirty = false;
        var pending = new PendingSnapshot[_pending.Count];
        int i = 0;
        long tickNow = Environment.TickCount64, wallNow = WallClockMillis();
        foreach (var (sseq, p) in _pending)
            pending[i++] = new PendingSnapshot(sseq, p.ConsumerSeq, p.Deliveries, wallNow + (p.Deadline - tickNow));
        ulong generation = _generation + 1;
        try
        {
            var saved = ConsumerStore.Save(store, _stream, new ConsumerSnapshot(_config!, _created, _cursor,
                _deliveredConsumerSeq, _deliveredStreamSeq, _ackFloorConsumerSeq, _ackFloorStreamSeq, pending, [.. _initial], _reportAcks,
                generation));
            _generation = generation;
            // The snapshot holds everything journaled so far: the journal starts over, naming the new generation.
            _journal ??= ConsumerJournal.Open(ConsumerStore.Directory(store, _stream, _name), store.Sync.Always);
            _journal.Reset(generation);
            _replication?.Snapshot(generation, saved);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _dirty = true;
            logger.LogError(ex, "Saving consumer {Stream}/{Consumer} failed", _stream, _name);
            return false;
        }
        return true;
    }

    private void Restore(ConsumerSnapshot snapshot)
    {
        _config = snapshot.Config;
        _created = snapshot.Created;
        _cursor = snapshot.Cursor;
        _deliveredConsumerSeq = snapshot.DeliveredConsumerSeq;
        _deliveredStreamSeq = snapshot.DeliveredStreamSeq;
        _ackFloorConsumerSeq = snapshot.AckFloorConsumerSeq;
        _ackFloorStreamSeq = snapshot.AckFloorStreamSeq;
        _reportAcks = snapshot.ReportAcks;
        _generation = snapshot.JournalGeneration;
        long tickNow = Environment.TickCount64, wallNow = WallClockMillis();
        foreach (var p in snapshot.Pending)
        {
            // Snapshots from before deadlines were saved: owed again one ack_wait from now.
            long deadline = p.DeadlineUnixMs == 0
                ? tickNow + AckWaitMillis(_config, p.Deliveries)
                : TickDeadline(p.DeadlineUnixMs, tickNow, wallNow);
            _pending[p.StreamSeq] = new Pending(p.ConsumerSeq, p.Deliveries, deadline);
        }
        foreach (var seq in snapshot.Initial)
            _initial.Enqueue(seq);
        StartTimer();
    }

    /// <summary>
    /// Applies the journal of the restored snapshot's generation: fetches and acks after the snapshot, so that an
    /// ack answered before a crash is not redelivered after it.
    /// </summary>
    private void Replay()
    {
        var config = _config!;
        bool acks = config.AckPolicy != AckPolicy.None;
        long tickNow = Environment.TickCount64, wallNow = WallClockMillis();
        foreach (var record in ConsumerJournal.Read(ConsumerStore.Directory(store, _stream, _name), _generation))
        {
            switch (record)
            {
                case JournalDelivered delivered:
                    _cursor = Math.Max(_cursor, delivered.Cursor);
                    _deliveredConsumerSeq = Math.Max(_deliveredConsumerSeq, delivered.DeliveredConsumerSeq);
                    _deliveredStreamSeq = Math.Max(_deliveredStreamSeq, delivered.DeliveredStreamSeq);
                    foreach (var d in delivered.Deliveries)
                    {
                        if (_initial.Count > 0 && _initial.Peek() == d.StreamSeq)
                            _initial.Dequeue();
                        if (acks)
                            _pending[d.StreamSeq] = new Pending(d.ConsumerSeq, d.Deliveries, TickDeadline(d.DeadlineUnixMs, tickNow, wallNow));
                        else
                            FloorAtDelivered(d.StreamSeq);
                    }
                    break;
                case JournalAcked acked when acks:
                    foreach (var op in acked.Acks)
                        Apply(config, op, tickNow, null);
                    break;
            }
        }
        if (acks)
            UpdateAckFloor();
    }

    /// <summary>
    /// A saved wall-clock deadline on this process's tick clock: a message whose ack wait ran out while the silo was
    /// down is due at once, so a short-lived process still redelivers it and the ack floor can move past it.
    /// </summary>
    private static long TickDeadline(long deadlineUnixMs, long tickNow, long wallNow) => tickNow + Math.Max(0, deadlineUnixMs - wallNow);
}
