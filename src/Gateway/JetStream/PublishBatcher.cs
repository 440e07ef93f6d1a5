using System.Buffers;
using System.Text;
using Microsoft.Extensions.Logging;
using Platform.Grains.Cluster;
using Platform.Grains.Streams;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>
/// One connection's JetStream publishes. Each read's captures form a round: framed per stream into one buffer each,
/// so a read costs one grain call per stream. Rounds are pipelined: the connection goes on reading while up to
/// <see cref="MaxRoundsInFlight"/> rounds are with the grains, and a single drain writes their acks strictly in
/// publish order as they complete. With every slot taken the read loop waits: that is the backpressure.
/// </summary>
internal sealed class PublishBatcher
{
    private const int MaxRoundsInFlight = 8;

    private readonly object _gate = new();
    private readonly Queue<PublishRound> _inFlight = new();
    private readonly Stack<PublishRound> _free = new();
    private readonly SemaphoreSlim _slots = new(MaxRoundsInFlight, MaxRoundsInFlight);
    private PublishRound _current = new();
    private bool _draining;

    /// <summary>Past this many streams published to, the counters start over under a new publisher id.</summary>
    private const int MaxCounters = 1024;
    // By name, not by target: a stream update replaces its target, and numbers that started over under the same
    // publisher would all look late to the stream, which then would not order them.
    private readonly Dictionary<(string Stream, int Partition), PublishCounter> _counters = [];
    private long _publisher = NewPublisherId();

    public bool IsEmpty => _current.IsEmpty;

    public void Add(StreamTarget target, int partition, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength, in ReadOnlySequence<byte> message)
        => _current.Add(target, partition, subject, reply, headerLength, message);

    /// <summary>Sends the current round; completes at once unless every in-flight slot is taken.</summary>
    public async ValueTask FlushAsync(NatsServer server)
    {
        await _slots.WaitAsync();
        var round = _current;
        round.Send(this);
        bool startDrain;
        lock (_gate)
        {
            _inFlight.Enqueue(round);
            _current = _free.TryPop(out var reused) ? reused : new PublishRound();
            startDrain = !_draining;
            _draining = true;
        }
        if (startDrain)
            _ = DrainAsync(server);
    }

    /// <summary>Numbers the next batch to a stream partition (<see cref="BatchOrder"/>); called from the read loop only.</summary>
    internal (BatchOrder Order, PublishCounter Counter) Next(StreamTarget target, int partition)
    {
        if (!_counters.TryGetValue((target.Name, partition), out var counter))
        {
            if (_counters.Count == MaxCounters)
            {
                _counters.Clear();
                _publisher = NewPublisherId();
            }
            _counters[(target.Name, partition)] = counter = new PublishCounter();
        }
        ulong number = ++counter.Sent;
        return (new BatchOrder(_publisher, number, Volatile.Read(ref counter.Answered) + 1), counter);
    }

    private static long NewPublisherId()
    {
        long id;
        while ((id = Random.Shared.NextInt64()) == 0)
        {
        }
        return id;
    }

    private async Task DrainAsync(NatsServer server)
    {
        while (true)
        {
            PublishRound? round;
            lock (_gate)
            {
                if (!_inFlight.TryPeek(out round))
                {
                    _draining = false;
                    return;
                }
            }
            await round.CompleteAsync(server);
            lock (_gate)
            {
                _inFlight.Dequeue();
                _free.Push(round);
            }
            _slots.Release();
        }
    }
}

/// <summary>The captures of one read: per-stream batches, and the publish order with each message's reply subject.</summary>
internal sealed class PublishRound
{
    private static readonly PublishAck OfflineAck = new(0, false, ApiError.StreamOffline);
    private static readonly PublishAck UnavailableAck = new(0, false, ApiError.StoreFailed("stream unavailable"));

    private readonly Dictionary<(StreamTarget, int), StreamBatch> _batches = [];
    private readonly List<StreamBatch> _active = [];
    /// <summary>Publish order across streams: which batch, and which reply (empty when none was asked for).</summary>
    private readonly List<(StreamBatch Batch, int Index, int ReplyStart, int ReplyLength)> _order = [];
    private byte[] _replies = ArrayPool<byte>.Shared.Rent(1024);
    private int _repliesLength;
    /// <summary>Writers the round's acks went to, woken once at the end of the round.</summary>
    private readonly HashSet<OutboundBuffer> _touched = [];

    private Task<Orleans.Concurrency.Immutable<PublishAck[]>>[] _calls = [];
    private long _sentAt;

    public bool IsEmpty => _order.Count == 0;

    public void Add(StreamTarget target, int partition, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength, in ReadOnlySequence<byte> message)
    {
        if (!_batches.TryGetValue((target, partition), out var batch))
            _batches[(target, partition)] = batch = new StreamBatch(target, partition);
        if (batch.Count == 0)
            _active.Add(batch);
        int index = batch.Add(subject, headerLength, message);
        int replyStart = _repliesLength;
        if (!reply.IsEmpty)
        {
            if (_repliesLength + reply.Length > _replies.Length)
                Grow(ref _replies, _repliesLength, _repliesLength + reply.Length);
            reply.CopyTo(_replies.AsSpan(_repliesLength));
            _repliesLength += reply.Length;
        }
        _order.Add((batch, index, replyStart, reply.Length));
    }

    /// <summary>Starts one grain call per stream in this round, each numbered among <paramref name="batcher"/>'s batches to its stream.</summary>
    public void Send(PublishBatcher batcher)
    {
        _sentAt = System.Diagnostics.Stopwatch.GetTimestamp();
        _calls = new Task<Orleans.Concurrency.Immutable<PublishAck[]>>[_active.Count];
        for (int i = 0; i < _active.Count; i++)
            _calls[i] = _active[i].SendAsync(batcher);
    }

    /// <summary>Waits for the round's calls and writes its acks in the order the client published.</summary>
    public async Task CompleteAsync(NatsServer server)
    {
        var calls = _calls;
        for (int i = 0; i < calls.Length; i++)
        {
            try
            {
                _active[i].Acks = (await calls[i]).Value;
            }
            catch (Exception ex) when (StreamOfflineException.Is(ex))
            {
                _active[i].Failure = OfflineAck;
            }
            catch (Exception ex)
            {
                server.Logger.LogError(ex, "Publish batch to stream {Stream} failed", _active[i].Target.Name);
                _active[i].Failure = UnavailableAck;
            }
        }
        var latency = server.PublishAckLatency;
        double elapsed = latency is null ? 0 : System.Diagnostics.Stopwatch.GetElapsedTime(_sentAt).TotalMilliseconds;
        var ack = new ArrayBufferWriter<byte>(128);
        foreach (var (batch, index, replyStart, replyLength) in _order)
        {
            if (replyLength == 0)
                continue;
            ack.ResetWrittenCount();
            var result = batch.Acks is { } acks ? acks[index] : batch.Failure!.Value;
            WriteAck(ack, batch.Target, batch.Partition, result);
            latency?.Record(elapsed);
            server.Deliver(_replies.AsSpan(replyStart, replyLength), default, 0, new ReadOnlySequence<byte>(ack.WrittenMemory), null, _touched);
        }
        OutboundBuffer.SignalAll(_touched);
        foreach (var batch in _active)
        {
            // Rounds complete in the order they were sent, so this only moves forward.
            batch.Answered();
            batch.Reset();
        }
        _active.Clear();
        _order.Clear();
        _repliesLength = 0;
        _calls = [];
    }

    /// <summary>nats-server's pub ack, byte for byte: <c>{"stream":"S", "seq":1}</c>, or the error form.</summary>
    private static void WriteAck(ArrayBufferWriter<byte> output, StreamTarget target, int partition, PublishAck ack)
    {
        if (ack.Error is { } error)
        {
            output.Write(Encoding.UTF8.GetBytes(
                $"{{\"error\":{{\"code\":{error.Code},\"err_code\":{error.ErrCode},\"description\":{ApiJson.Quote(error.Description)}}},\"stream\":{ApiJson.Quote(target.Name)},\"seq\":0}}"));
            return;
        }
        // A staged message of an atomic batch: nats-server replies with an empty message.
        if (ack.Staged)
            return;
        output.Write(target.AckPrefix);
        Span<byte> digits = stackalloc byte[20];
        System.Buffers.Text.Utf8Formatter.TryFormat(ack.Sequence, digits, out int n);
        output.Write(digits[..n]);
        if (ack.Duplicate)
            output.Write(",\"duplicate\": true"u8);
        // The commit of an atomic batch: its id and how many messages it stored, nats-server's ",\"batch\":%q,\"count\":%d".
        if (ack.Batch is { } batch)
            output.Write(Encoding.UTF8.GetBytes($",\"batch\":{ApiJson.Quote(batch)},\"count\":{ack.BatchCount}"));
        // 2.12's counters: the subject's new total, as text (it may not fit a JSON number).
        if (ack.CounterTotal is { } total)
        {
            output.Write(",\"val\":\""u8);
            output.Write(Encoding.ASCII.GetBytes(total));
            output.Write("\""u8);
        }
        output.Write(target.AckSuffixes[partition]);
    }

    private static void Grow(ref byte[] buffer, int used, int needed)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, buffer.Length * 2));
        buffer.AsSpan(0, used).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = bigger;
    }

    private sealed class StreamBatch(StreamTarget target, int partition)
    {
        public int Partition { get; } = partition;
        private byte[] _frames = ArrayPool<byte>.Shared.Rent(4096);
        private int _length;

        public StreamTarget Target { get; } = target;
        public int Count { get; private set; }
        public PublishAck[]? Acks { get; set; }
        /// <summary>The ack every message of a failed call gets (the home node down, or the call failed).</summary>
        public PublishAck? Failure { get; set; }

        public int Add(ReadOnlySpan<byte> subject, int headerLength, in ReadOnlySequence<byte> message)
        {
            int payloadLength = (int)message.Length - headerLength;
            int size = PublishFrames.FrameSize(subject.Length, headerLength, payloadLength);
            if (_length + size > _frames.Length)
                Grow(ref _frames, _length, _length + size);
            var span = _frames.AsSpan(_length, size);
            PublishFrames.WriteHeader(span, subject.Length, headerLength, payloadLength);
            subject.CopyTo(span[PublishFrames.FrameHeaderSize..]);
            message.CopyTo(span[(PublishFrames.FrameHeaderSize + subject.Length)..]);
            _length += size;
            return Count++;
        }

        private BatchOrder _order;
        private PublishCounter? _counter;

        /// <summary>The buffer is lent to the grain for the call only: the log copies each message into its own record.</summary>
        public Task<Orleans.Concurrency.Immutable<PublishAck[]>> SendAsync(PublishBatcher batcher)
        {
            var grain = Target.Partitions[Partition];
            var frames = new Orleans.Concurrency.Immutable<byte[]>(_frames);
            // Only pipelined batches are numbered: the stream would wait for a number that went by the plain append
            // (a stream of one copy whose home moved here or away between two batches).
            if (!Target.Pipelined(Partition))
                return grain.Append(frames, _length, Count);
            (_order, _counter) = batcher.Next(Target, Partition);
            return grain.AppendPipelined(frames, _length, Count, _order);
        }

        public void Answered()
        {
            if (_counter is { } counter)
                Volatile.Write(ref counter.Answered, _order.Number);
        }

        public void Reset()
        {
            _length = 0;
            Count = 0;
            Acks = null;
            Failure = null;
            _counter = null;
        }
    }
}
