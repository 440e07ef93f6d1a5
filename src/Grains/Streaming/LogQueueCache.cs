using Orleans.Runtime;
using Orleans.Streams;
using Platform.Grains.Storage;
using Platform.Grains.Streams;

namespace Platform.Grains.Streaming;

/// <summary>
/// The cache of one queue (one partition of a platform stream, the stream grain <c>key</c>). It does not serve events from memory: cursors read the log (through
/// <see cref="OpenLogs"/>, synchronously as the cursor contract requires), so any retained sequence can be replayed.
/// What it keeps is the list of records the receiver handed over, oldest first, to learn when each has been delivered
/// (every cursor on its Orleans stream moved past it): those are purged in order and checkpointed by the receiver.
/// When no stream grain of this silo has the log open (the grain lives on another silo), cursors serve from those
/// records instead: live delivery goes on, only replays from before them need the local log.
/// </summary>
/// <remarks>
/// The pulling agent that owns the cache and its cursors is a system target: it runs one turn at a time, so cursors
/// need no lock of their own; the cache's lock only guards against a cursor disposed from elsewhere. The cache never
/// calls into a cursor while a cursor may be calling into the cache under a lock of its own, so there is no lock order
/// to get wrong.
/// </remarks>
internal sealed class LogQueueCache(string ns, string key, OpenLogs logs, PlatformStreamOptions options, ProviderFailureHandler failures, TimeProvider time) : IQueueCache
{
    private readonly Queue<(LogBatchContainer Batch, long AddedAt)> _pending = new();
    private readonly Dictionary<StreamId, List<LogCursor>> _cursors = [];
    private readonly object _lock = new();
    private ulong _watermark;

    /// <summary>The highest sequence the receiver has handed over; cursors do not read past it, so delivery follows the receiver.</summary>
    public ulong Watermark { get { lock (_lock) return _watermark; } }

    /// <summary>Up to <paramref name="max"/> pending records of the stream from <paramref name="from"/> on, for cursors without a local log.</summary>
    internal void ReadPending(StreamId streamId, ulong from, int max, Queue<LogBatchContainer> into)
    {
        lock (_lock)
        {
            foreach (var (batch, _) in _pending)
            {
                if (into.Count >= max)
                    break;
                if (batch.Sequence >= from && batch.StreamId.Equals(streamId))
                    into.Enqueue(batch);
            }
        }
    }

    public int GetMaxAddCount() => options.ReadBatchSize;

    public void AddToCache(IList<IBatchContainer> messages)
    {
        lock (_lock)
        {
            long now = time.GetTimestamp();
            foreach (LogBatchContainer batch in messages)
            {
                _pending.Enqueue((batch, now));
                _watermark = Math.Max(_watermark, batch.Sequence);
            }
        }
    }

    public bool TryPurgeFromCache(out IList<IBatchContainer> purgedItems)
    {
        var purged = new List<IBatchContainer>();
        lock (_lock)
        {
            long now = time.GetTimestamp();
            while (_pending.TryPeek(out var head) && IsDelivered(head.Batch, now - head.AddedAt))
                purged.Add(_pending.Dequeue().Batch);
        }
        purgedItems = purged;
        return purged.Count > 0;
    }

    private bool IsDelivered(LogBatchContainer batch, long age)
    {
        if (!_cursors.TryGetValue(batch.StreamId, out var cursors) || cursors.Count == 0)
            return time.GetElapsedTime(0, age) >= options.UnclaimedGrace;
        foreach (var cursor in cursors)
            if (cursor.DoneBelow <= batch.Sequence)
                return false;
        return true;
    }

    public bool IsUnderPressure()
    {
        lock (_lock)
            return _pending.Count >= options.MaxCachedRecords;
    }

    /// <summary>A cursor from <paramref name="token"/>'s sequence (inclusive); without a token, from the next new record.</summary>
    public IQueueCacheCursor GetCacheCursor(StreamId streamId, StreamSequenceToken? token)
    {
        lock (_lock)
        {
            ulong start = token is null ? _watermark + 1 : (ulong)Math.Max(1, token.SequenceNumber);
            var cursor = new LogCursor(this, streamId, start);
            if (!_cursors.TryGetValue(streamId, out var list))
                _cursors[streamId] = list = [];
            list.Add(cursor);
            return cursor;
        }
    }

    internal void Remove(LogCursor cursor)
    {
        lock (_lock)
        {
            if (_cursors.TryGetValue(cursor.StreamId, out var list) && list.Remove(cursor) && list.Count == 0)
                _cursors.Remove(cursor.StreamId);
        }
    }

    internal bool TryRead(ulong from, string subject, List<LogRecord> into) =>
        logs.TryRead(key, from, options.ReadBatchSize, subject, into);

    internal string Namespace => ns;

    internal ProviderFailureHandler Failures => failures;

    internal sealed class LogCursor(LogQueueCache cache, StreamId streamId, ulong start) : IQueueCacheCursor
    {
        private readonly string _subject = LogQueueMapper.SubjectOf(streamId);
        private readonly Queue<LogBatchContainer> _buffer = new();
        private readonly List<LogRecord> _read = [];
        private ulong _nextRead = start;
        private LogBatchContainer? _current;

        public StreamId StreamId => streamId;

        /// <summary>Every record of this stream below this sequence has been handed to the subscriber and moved past.</summary>
        public ulong DoneBelow => _current?.Sequence ?? (_buffer.TryPeek(out var next) ? next.Sequence : _nextRead);

        public IBatchContainer GetCurrent(out Exception? exception)
        {
            exception = null;
            return _current!;
        }

        public bool MoveNext()
        {
            _current = null;
            if (_buffer.Count == 0)
                Fill();
            if (!_buffer.TryDequeue(out var next))
                return false;
            _current = next;
            return true;
        }

        private void Fill()
        {
            ulong watermark = cache.Watermark;
            if (_nextRead > watermark)
                return;
            _read.Clear();
            if (!cache.TryRead(_nextRead, _subject, _read))
            {
                // No local log: what the receiver handed over and is not yet delivered.
                cache.ReadPending(streamId, _nextRead, cache.GetMaxAddCount(), _buffer);
                if (_buffer.Count > 0)
                    _nextRead = _buffer.Last().Sequence + 1;
                return;
            }
            foreach (var record in _read)
            {
                if (record.Sequence > watermark)
                    break;
                _buffer.Enqueue(LogReceiver.ToContainer(cache.Namespace, record.Sequence, record.Encoded.Span, cache.Failures));
                _nextRead = record.Sequence + 1;
            }
            // A short read, or one that ran past the watermark, saw every record of this subject up to the watermark:
            // skip the other subjects' sequences so the next read starts after it.
            if (_read.Count < cache.GetMaxAddCount() || _read[^1].Sequence > watermark)
                _nextRead = Math.Max(_nextRead, watermark + 1);
        }

        // Reading from the log means a refresh has nothing to catch up: the next MoveNext reads what is there.
        public void Refresh(StreamSequenceToken token)
        {
        }

        // The agent retries and then reports through the failure handler; the cursor just moves on.
        public void RecordDeliveryFailure()
        {
        }

        public void Dispose() => cache.Remove(this);
    }
}
