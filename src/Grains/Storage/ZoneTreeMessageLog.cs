using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Platform.Grains.Subjects;
using ZoneTree;
using ZoneTree.Comparers;
using ZoneTree.Options;
using ZoneTree.Serializers;
using ZoneTree.WAL;

namespace Platform.Grains.Storage;

/// <summary>
/// <see cref="IMessageLog"/> on one ZoneTree per stream partition: key = sequence, value = one encoded record
/// (<see cref="RecordCodec"/>). Counts, bytes, per-subject state and the deleted sequences are kept in memory; the
/// only state the records cannot tell lives in <see cref="LogMetadata"/>.
/// </summary>
/// <remarks>
/// <para>Recovery: a file log saves its derived state now and then (<see cref="RecoveryCheckpoint"/>, in the
/// background once enough changed, and on close) and journals what each later removal took from it
/// (<see cref="RemovalJournal"/>). Opening it reads the checkpoint, applies the journal and scans only the messages
/// appended after the checkpoint, so a crash costs time in proportion to what changed since the last checkpoint,
/// not to the size of the log. Whatever does not add up (no checkpoint, a corrupt one, a journal with a gap or
/// relative to a checkpoint that never reached the disk, a first sequence that disagrees with the metadata) falls
/// back to scanning every message, which is always right.</para>
/// </remarks>
/// <remarks>
/// <para>Invariant (under <see cref="_lock"/>): every sequence in [first, last] is either live in the tree or in
/// <see cref="_deleted"/>; an empty log has first = last + 1 and no deleted sequences.</para>
/// <para>Thread safety: any method may be called from any thread. Writers and the in-memory state are serialised by
/// one lock; reads of the tree itself run outside it, against the bounds captured under it.</para>
/// </remarks>
internal sealed class ZoneTreeMessageLog : IMessageLog
{
    // 100k records is ~30 MB of memtable for messages up to ~300 B and bounds a replay after a crash to ~0.15 s
    // (each log takes 75k-125k of them: MemtableRecords).
    // A merge rewrites the newest disk part whenever it holds no more than the minimum, so a minimum below one
    // memtable lets the part a merge just wrote be carried over untouched by the next one; with a minimum of 100k
    // every merge read back and rewrote the 100k records the previous one wrote (a trace showed merges deserialising
    // records from disk). Parts of 0.5–1x a memtable still let retention drop whole parts instead of rewriting them.
    private const int MutableSegmentRecords = 100_000;
    private const int DiskPartMinimumRecords = 50_000;
    private const int DiskPartMaximumRecords = 100_000;

    // The engine's smallest block (default 4 MB). Blocks are stored uncompressed, but a merge still allocates each
    // one whole on the large object heap, and reading one message from disk copies its whole block.
    private const int DiskBlockBytes = 1 << 20;

    // The shared WAL is deleted a whole chunk at a time, once everything in the chunk is merged. With the default
    // 64 MB chunks a purged or quiet log kept ~43 MB of WAL for 2 MB of live data; 16 MB chunks give it back sooner.
    // A record larger than a chunk gets a chunk of its own.
    private const long SharedWalChunkBytes = 16L << 20;

    // ZoneTree never stalls writers, and unthrottled writers outrun its single merge thread until memory reaches
    // gigabytes. Holding appends while more than 4 frozen segments wait bounds the unmerged data to about
    // (4 + 1 mutable) x 100k records, plus whatever callers append without asking for capacity first.
    private const int MaxReadOnlySegments = 4;
    private static readonly TimeSpan CapacityPollInterval = TimeSpan.FromMilliseconds(2);

    private const string MemoryDirectoryName = "memory.tmp";
    private const string DiskPartDataSuffix = ".data.z";

    private readonly MessageLogOptions _options;
    private readonly string _treeDirectory;
    private readonly DeferredDeletes _deletes;
    private readonly IZoneTree<ulong, byte[]> _tree;
    private readonly IMaintainer _maintainer;
    private readonly GroupCommit? _groupCommit;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task? _syncLoop;

    private readonly Lock _lock = new();
    private readonly SubjectIndex _subjects = new();
    private readonly SortedSet<ulong> _deleted = new();
    // Read without the lock by the engine's merge and read paths (IsDeleted); written after the WAL has it.
    private ulong _floor;
    private ulong _first = 1;
    private ulong _last;
    // Differs from _last once the newest messages are deleted: _last never goes back, as in nats-server.
    private ulong _lastLive;
    private ulong _messages;
    private ulong _bytes;
    private long _firstTimestamp;
    private long _lastTimestamp;
    private volatile bool _disposed;
    private Exception? _failure;

    private readonly string? _checkpointPath;
    private readonly RemovalJournal.Writer _journal = new();
    // Per subject, what a range removal takes from the messages the checkpoint covers; reused, keyed by the index's strings.
    private readonly Dictionary<string, (ulong Count, ulong Bytes)> _rangeRemoved = new(StringComparer.Ordinal);
    private List<ulong>? _removedInto;
    // What a filtered purge found, before it removes it; reused.
    private readonly List<(ulong Sequence, byte[] Value)> _doomed = [];
    // How many removals were journaled (entries 1..this); the metadata record carries it.
    private ulong _removals;
    // The last sequence of the newest checkpoint snapshot: removals journal their effect on messages up to it. 0: none yet.
    private ulong _checkpointBase;
    // The removal count of the newest checkpoint on disk: merges drop journal entries up to it (read by IsDeleted).
    private ulong _journalCovered;
    private long _sinceCheckpoint;
    // A checkpoint is due once this many appends and journaled removals happened since the last one (by default a
    // memtable's worth, 100k), or as many as the checkpoint itself holds (subjects and deleted sequences) if that is
    // more: writing checkpoints then costs a bounded share of the writes, and recovery reads about that much.
    private long _checkpointThreshold;
    private Task _checkpointWrite = Task.CompletedTask;

    private PatternCache? _patternCache;

    // What the records written into the current memtable hold, against this log's part of MemtableBudget.
    private object? _countedMemtable;
    private long _memtableBytes;
    private long _memtableLimit;

    /// <summary>
    /// This log's memtable size: <see cref="MutableSegmentRecords"/> give or take a quarter, fixed by its directory
    /// (through the stable hash subjects are partitioned by: a string's own hash differs from process to process).
    /// Copies of one stream (a primary and its replicas, or streams published to at one rate) that freeze their
    /// memtables at the same sequence start their merges at the same moment, and the acks wait for the slowest: at
    /// R3 on two cores the fixed-rate publish-ack p99 was 77 ms against nats-server's 15 ms, every worst second one of
    /// those freezes (every 100k messages); spread over 75k-125k it was 25 ms (perf/RESULTS-r3.md, 3 runs each).
    /// </summary>
    private static int MemtableRecords(string directory)
        => MutableSegmentRecords * 3 / 4 + Streams.StreamKeys.PartitionOf(directory, MutableSegmentRecords / 2);

    private ZoneTreeMessageLog(MessageLogOptions options)
    {
        _options = options;
        _treeDirectory = options.InMemory ? Path.Combine(options.Directory, MemoryDirectoryName) : options.Directory;
        if (options.InMemory)
            DeleteDirectory(_treeDirectory);
        Directory.CreateDirectory(_treeDirectory);

        long opening = Stopwatch.GetTimestamp();
        _deletes = new DeferredDeletes(_treeDirectory);
        try
        {
            _tree = new ZoneTreeFactory<ulong, byte[]>(_deletes)
                .SetDataDirectory(_treeDirectory)
                .SetComparer(new UInt64ComparerAscending())
                .SetKeySerializer(new UInt64Serializer())
                .SetValueSerializer(new BytesSerializer())
                .SetMutableSegmentMaxItemCount(MemtableRecords(options.Directory))
                .ConfigureWriteAheadLogOptions(o =>
                {
                    o.WriteAheadLogMode = options.InMemory ? WriteAheadLogMode.None : WriteAheadLogMode.Shared;
                    // Profiles of sustained publishing showed compression (WAL tail blocks and merges) as the largest
                    // single cost, first zstd and then LZ4, which also allocated a fresh large output array per block.
                    // nats-server stores messages uncompressed by default too, and CPU is what a broker runs out of first.
                    o.CompressionMethod = CompressionMethod.None;
                    o.SharedModeOptions = new SharedModeOptions { MaximumChunkSize = SharedWalChunkBytes };
                })
                .ConfigureDiskSegmentOptions(o =>
                {
                    o.CompressionMethod = CompressionMethod.None;
                    o.CompressionBlockSize = DiskBlockBytes;
                    o.MinimumRecordCount = DiskPartMinimumRecords;
                    o.MaximumRecordCount = DiskPartMaximumRecords;
                })
                .SetIsDeletedDelegate(IsDeleted)
                .SetIsRangeDeletedDelegate(IsRangeDeleted)
                .OpenOrCreate();
        }
        catch
        {
            _deletes.Dispose();
            throw;
        }
        var engineOpen = Stopwatch.GetElapsedTime(opening);
        _checkpointThreshold = options.CheckpointEveryChanges;
        if (!options.InMemory)
            _checkpointPath = RecoveryCheckpoint.PathIn(_treeDirectory);
        try
        {
            int quarantined = options.InMemory ? 0 : LeftoverSegments.Quarantine(_treeDirectory, _tree);
            if (!options.InMemory)
                UndoInterruptedBatch();
            var metadata = _tree.TryGet(LogMetadata.Key, out var stored) ? LogMetadata.Decode(stored) : new LogMetadata(1, 0);
            Volatile.Write(ref _floor, metadata.Floor);
            _removals = metadata.Removals;
            Recovery = Recover(metadata) with { EngineOpen = engineOpen, QuarantinedFiles = quarantined };
            _maintainer = _tree.CreateMaintainer();
            // Frozen memtables the open replayed from the WAL would otherwise wait for the next memtable to fill before
            // they merge, and every crash until then would replay them again (~100k records each, most of an open).
            if (_tree.Maintenance.ReadOnlySegmentsCount > 0)
                _maintainer.StartMerge();
        }
        catch
        {
            _tree.Dispose();
            _deletes.Dispose();
            throw;
        }
        // Whatever the open had to read is read again after the next crash until a checkpoint includes it.
        if (Recovery.RecordsScanned + Recovery.JournalEntries > 0)
        {
            lock (_lock)
                StartCheckpoint();
        }

        options.Memtables?.Join();
        if (!options.InMemory)
        {
            if (options.SyncPolicy == LogSyncPolicy.Always)
                _groupCommit = new GroupCommit(() => _tree.SyncWALAsync());
            else
                _syncLoop = Task.Run(() => SyncPeriodicallyAsync(options.SyncInterval, _stop.Token));
        }
    }

    /// <summary>How the last open learned the log's state; for diagnostics and tests.</summary>
    public LogRecovery Recovery { get; }

    /// <summary>Opens (or creates) the log in <see cref="MessageLogOptions.Directory"/>; throws <see cref="IOException"/> if another log has it open.</summary>
    public static ZoneTreeMessageLog Open(MessageLogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Directory);
        if (!options.InMemory && options.SyncPolicy == LogSyncPolicy.Interval && options.SyncInterval <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), options.SyncInterval, "The sync interval must be positive.");
        return new ZoneTreeMessageLog(options);
    }

    public LogState State
    {
        get
        {
            lock (_lock)
                return new LogState(_first, _last, _messages, _bytes, _firstTimestamp, _lastTimestamp, _subjects.Count, _deleted.Count);
        }
    }

    public int OpenFiles => CountOpenFiles(_treeDirectory, _options.InMemory);

    /// <summary>Records in the memtable being written, not yet frozen; for tests of the memtable budget.</summary>
    internal long MemtableRecordCount => _tree.Maintenance.MutableSegment.Length;

    /// <summary>Files the engine deleted, set aside to be unlinked outside its locks (<see cref="DeferredDeletes"/>); for tests.</summary>
    internal long FilesSetAside => _deletes.SetAside;

    /// <summary>
    /// The descriptors a log in <paramref name="options"/>' directory holds once open, from the files on disk; a closed
    /// log can be sized before it is opened.
    /// </summary>
    public static int EstimateOpenFiles(MessageLogOptions options)
        => options.InMemory ? CountOpenFiles(null, true) : CountOpenFiles(options.Directory, false);

    /// <summary>
    /// Measured: the engine's metadata WAL (1), and for a file log the shared WAL chunk and its tail (2), all open
    /// for the life of the tree; plus a header and a data file for every disk part (50k-100k records each), which stay
    /// open once written or read. A merge briefly holds the parts it writes as well as those it replaces.
    /// </summary>
    private static int CountOpenFiles(string? treeDirectory, bool inMemory)
    {
        int files = inMemory ? 1 : 3;
        if (treeDirectory is not null && Directory.Exists(treeDirectory))
            foreach (var _ in Directory.EnumerateFiles(treeDirectory, "*" + DiskPartDataSuffix))
                files += 2;
        return files;
    }

    public List<ulong>? RemovedInto
    {
        set
        {
            lock (_lock)
                _removedInto = value;
        }
    }

    public IReadOnlyCollection<ulong> DeletedSequences
    {
        get
        {
            lock (_lock)
            {
                var copy = new ulong[_deleted.Count];
                _deleted.CopyTo(copy);
                return copy;
            }
        }
    }

    public ulong Append(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, long timestampNanos)
    {
        var record = RecordCodec.Encode(timestampNanos, subject, headers, payload);
        ulong size = _options.InMemory
            ? RecordCodec.MemoryStoredSize(subject.Length, headers.Length, payload.Length)
            : RecordCodec.StoredSize(subject.Length, headers.Length, payload.Length);
        ulong sequence;
        lock (_lock)
        {
            ThrowIfUnusable();
            sequence = _last + 1;
            Write(sequence, record);
            _last = sequence;
            _lastLive = sequence;
            if (_messages == 0)
            {
                _first = sequence;
                _firstTimestamp = timestampNanos;
            }
            _messages++;
            _bytes += size;
            _lastTimestamp = timestampNanos;
            _subjects.OnAppend(subject, sequence);
            if (++_sinceCheckpoint >= _checkpointThreshold)
                StartCheckpoint();
        }
        _groupCommit?.MarkWritten();
        return sequence;
    }

    public IDisposable BeginAtomic(int count)
    {
        // Held until the scope ends: readers capture their bounds under it, and so does a checkpoint, so neither sees
        // part of the batch.
        _lock.Enter();
        try
        {
            ThrowIfUnusable();
            if (!_options.InMemory)
                Write(AtomicAppendMarker.Key, AtomicAppendMarker.Encode(_last + 1, _last + (ulong)count));
        }
        catch
        {
            _lock.Exit();
            throw;
        }
        return new AtomicScope(this);
    }

    private void EndAtomic()
    {
        try
        {
            // After this tombstone a crash keeps the batch: the write-ahead log recovers a prefix, so the batch's
            // records are all in it before the tombstone is.
            if (!_options.InMemory && Volatile.Read(ref _failure) is null)
                Write(AtomicAppendMarker.Key, []);
        }
        finally
        {
            _lock.Exit();
        }
    }

    private sealed class AtomicScope(ZoneTreeMessageLog log) : IDisposable
    {
        private bool _ended;

        public void Dispose()
        {
            if (_ended)
                return;
            _ended = true;
            log.EndAtomic();
        }
    }

    /// <summary>
    /// Takes out what a batch that was being appended when the process died had written: the marker before its first
    /// record says which sequences, and none of them was acknowledged. Before the state is learned from the records.
    /// </summary>
    private void UndoInterruptedBatch()
    {
        if (!_tree.TryGet(AtomicAppendMarker.Key, out var marker) || marker.Length == 0)
            return;
        var (first, last) = AtomicAppendMarker.Decode(marker);
        for (ulong sequence = first; sequence <= last && sequence >= first; sequence++)
            if (_tree.TryGet(sequence, out _))
                _tree.ForceDelete(sequence);
        _tree.ForceDelete(AtomicAppendMarker.Key);
    }

    public ValueTask CommitAsync()
    {
        var failure = Volatile.Read(ref _failure);
        if (failure is not null)
            return ValueTask.FromException(new IOException("The message log has failed.", failure));
        return _groupCommit?.CommitAsync() ?? ValueTask.CompletedTask;
    }

    public ValueTask WaitForCapacityAsync(CancellationToken cancellationToken = default) =>
        _tree.Maintenance.ReadOnlySegmentsCount <= MaxReadOnlySegments ? ValueTask.CompletedTask : WaitForMergesAsync(cancellationToken);

    private async ValueTask WaitForMergesAsync(CancellationToken cancellationToken)
    {
        // Polling rather than merge events: a merge ending does not mean the count dropped below the bound, and a
        // few milliseconds of delay is nothing next to a merge of 100k records.
        while (!_disposed && _tree.Maintenance.ReadOnlySegmentsCount > MaxReadOnlySegments)
        {
            if (!_tree.Maintenance.IsMerging)
                _maintainer.StartMerge();
            await Task.Delay(CapacityPollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    public bool TryGet(ulong sequence, out LogRecord record)
    {
        ThrowIfDisposed();
        if (sequence != LogMetadata.Key && sequence < AtomicAppendMarker.Key && _tree.TryGet(sequence, out var value))
        {
            record = new LogRecord(sequence, value);
            return true;
        }
        record = default;
        return false;
    }

    public ulong? FindDamage()
    {
        ThrowIfDisposed();
        ulong first, last;
        lock (_lock)
            (first, last) = (_first, _last);
        using var iterator = _tree.CreateIterator(IteratorType.NoRefresh, includeDeletedRecords: false, contributeToTheBlockCache: false);
        iterator.Seek(first);
        while (iterator.Next() && iterator.CurrentKey <= last)
            if (!RecordCodec.IsIntact(iterator.CurrentValue))
                return iterator.CurrentKey;
        return null;
    }

    public int Read(ulong fromSequence, int maxCount, long maxBytes, string? subjectFilter, List<LogRecord> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        if (maxCount <= 0)
            return 0;
        if (!TryGetScanBounds(fromSequence, subjectFilter, out ulong start, out ulong end, out var pattern))
            return 0;

        int added = 0;
        long remaining = maxBytes;
        using var iterator = _tree.CreateIterator(IteratorType.NoRefresh, includeDeletedRecords: false, contributeToTheBlockCache: true);
        iterator.Seek(start);
        while (iterator.Next())
        {
            ulong sequence = iterator.CurrentKey;
            if (sequence > end)
                break;
            var record = new LogRecord(sequence, iterator.CurrentValue);
            if (pattern is not null && !SubjectMatch.Matches(record.SubjectBytes, pattern))
                continue;
            if (maxBytes > 0)
            {
                long size = (long)record.Size;
                if (size > remaining)
                    break;
                remaining -= size;
            }
            into.Add(record);
            if (++added == maxCount)
                break;
        }
        return added;
    }

    public bool TryGetNextBySubject(ulong fromSequence, string subjectFilter, out LogRecord record)
    {
        record = default;
        if (!TryGetScanBounds(fromSequence, subjectFilter, out ulong start, out ulong end, out var pattern))
            return false;
        using var iterator = _tree.CreateIterator(IteratorType.NoRefresh, includeDeletedRecords: false, contributeToTheBlockCache: true);
        iterator.Seek(start);
        while (iterator.Next())
        {
            ulong sequence = iterator.CurrentKey;
            if (sequence > end)
                return false;
            var candidate = new LogRecord(sequence, iterator.CurrentValue);
            if (pattern is null || SubjectMatch.Matches(candidate.SubjectBytes, pattern))
            {
                record = candidate;
                return true;
            }
        }
        return false;
    }

    public bool TryGetLastBySubject(string subject, out LogRecord record)
    {
        ArgumentNullException.ThrowIfNull(subject);
        record = default;
        lock (_lock)
        {
            ThrowIfUnusable();
            ulong last = 0;
            if (IsAllSubjects(subject))
            {
                last = _lastLive;
            }
            else if (SubjectMatch.HasWildcards(subject))
            {
                foreach (var (key, entry) in _subjects.Entries)
                {
                    if (SubjectMatch.Matches(key, subject))
                    {
                        ResolveStale(key, entry);
                        last = Math.Max(last, entry.Last);
                    }
                }
            }
            else if (_subjects.TryGet(subject, out var entry))
            {
                ResolveStale(subject, entry);
                last = entry.Last;
            }
            return last != 0 && TryGet(last, out record);
        }
    }

    public bool Delete(ulong sequence)
    {
        lock (_lock)
        {
            ThrowIfUnusable();
            if (sequence < _first || sequence > _last || _deleted.Contains(sequence) || !_tree.TryGet(sequence, out var value))
                return false;
            bool journaled = false;
            if (sequence <= _checkpointBase)
            {
                _journal.BeginMessages(_checkpointBase);
                _journal.AddMessage(sequence, RecordCodec.StoredSize(value, _options.InMemory), RecordCodec.GetSubject(value));
                WriteJournal();
                journaled = true;
            }
            Remove(sequence, value);
            FinishRemoval(lastRemoved: sequence == _lastLive, journaled);
        }
        _groupCommit?.MarkWritten();
        return true;
    }

    /// <remarks>
    /// Like nats-server's compact: a <paramref name="sequence"/> beyond the last one empties the log and makes it the
    /// next sequence to be assigned.
    /// </remarks>
    public ulong RemoveBelow(ulong sequence)
    {
        ulong removed;
        lock (_lock)
        {
            ThrowIfUnusable();
            removed = RemoveBelowLocked(sequence);
        }
        _groupCommit?.MarkWritten();
        return removed;
    }

    public ulong Purge(string? subjectFilter, ulong belowSequence, ulong keep)
    {
        ulong removed;
        lock (_lock)
        {
            ThrowIfUnusable();
            if (subjectFilter is null || IsAllSubjects(subjectFilter))
            {
                if (keep == 0)
                {
                    removed = belowSequence == 0 ? RemoveBelowLocked(_last + 1) : RemoveBelowLocked(belowSequence);
                }
                else
                {
                    ulong cut = KeepCut(keep);
                    removed = RemoveBelowLocked(belowSequence == 0 ? cut : Math.Min(cut, belowSequence));
                }
            }
            else
            {
                removed = PurgeMatching(subjectFilter, belowSequence, keep);
            }
        }
        _groupCommit?.MarkWritten();
        return removed;
    }

    public IReadOnlyDictionary<string, ulong> SubjectCounts(string subjectFilter)
    {
        ArgumentNullException.ThrowIfNull(subjectFilter);
        lock (_lock)
        {
            ThrowIfUnusable();
            var counts = new Dictionary<string, ulong>(StringComparer.Ordinal);
            bool all = IsAllSubjects(subjectFilter);
            foreach (var (key, entry) in _subjects.Entries)
            {
                if (all || SubjectMatch.Matches(key, subjectFilter))
                    counts.Add(key, entry.Count);
            }
            return counts;
        }
    }

    public SubjectState GetSubjectState(string subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        lock (_lock)
        {
            ThrowIfUnusable();
            if (IsAllSubjects(subject))
                return _messages == 0 ? default : new SubjectState(_messages, _first, _lastLive);
            if (!SubjectMatch.HasWildcards(subject))
            {
                if (!_subjects.TryGet(subject, out var single))
                    return default;
                ResolveStale(subject, single);
                return new SubjectState(single.Count, single.First, single.Last);
            }

            ulong count = 0, first = ulong.MaxValue, last = 0;
            foreach (var (key, entry) in _subjects.Entries)
            {
                if (!SubjectMatch.Matches(key, subject))
                    continue;
                ResolveStale(key, entry);
                count += entry.Count;
                first = Math.Min(first, entry.First);
                last = Math.Max(last, entry.Last);
            }
            return count == 0 ? default : new SubjectState(count, first, last);
        }
    }

    /// <remarks>
    /// Only forward: sequences below the current first may still sit in the tree as deleted records, and reusing them
    /// would make new messages invisible.
    /// </remarks>
    public void SetNextSequence(ulong sequence)
    {
        lock (_lock)
        {
            ThrowIfUnusable();
            if (_messages != 0)
                throw new InvalidOperationException("The next sequence can only be set on an empty log.");
            if (sequence < _first)
                throw new ArgumentOutOfRangeException(nameof(sequence), sequence, $"The next sequence cannot go below {_first}.");
            if (sequence == _first)
                return;
            _first = sequence;
            _last = sequence - 1;
            PersistMetadata();
        }
        _groupCommit?.MarkWritten();
    }

    public ValueTask DisposeAsync() => CloseAsync(keep: !_options.InMemory);

    /// <summary>Closes without merging what is about to be deleted anyway, then removes the files.</summary>
    public async ValueTask DropAsync()
    {
        await CloseAsync(keep: false).ConfigureAwait(false);
        DeleteDirectory(_treeDirectory);
    }

    private async ValueTask CloseAsync(bool keep)
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
        }
        _options.Memtables?.Leave();
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_syncLoop is not null)
            await _syncLoop.ConfigureAwait(false);
        // A checkpoint being written must be done before the final one replaces it, or the directory goes.
        await _checkpointWrite.ConfigureAwait(false);
        try
        {
            if (!keep)
            {
                _maintainer.TryCancelBackgroundThreads();
                await _maintainer.WaitForBackgroundThreadsAsync().ConfigureAwait(false);
            }
            else
            {
                // Merging everything now makes the next open read segments instead of replaying the WAL (0.2 s
                // instead of ~1.5 s per million records).
                _maintainer.EvictToDisk();
                await _maintainer.WaitForBackgroundThreadsAsync().ConfigureAwait(false);
                _tree.Maintenance.SaveMetaData();
                // The next open then reads the state instead of any message.
                if (_checkpointPath is not null && Volatile.Read(ref _failure) is null)
                {
                    RecoveryCheckpoint final;
                    lock (_lock)
                        final = Capture();
                    TryWriteCheckpoint(final);
                }
            }
        }
        finally
        {
            _maintainer.Dispose();
            _tree.Dispose();
            await _deletes.DisposeAsync().ConfigureAwait(false);
            _stop.Dispose();
            if (_options.InMemory)
                DeleteDirectory(_treeDirectory);
        }
    }

    // ---- removal ----

    private ulong RemoveBelowLocked(ulong sequence)
    {
        if (sequence <= _first)
            return 0;
        ulong before = _messages;
        // Messages the checkpoint covers may go: journal what leaves of them before the floor moves (PersistMetadata).
        // A floor past the checkpoint's last sequence takes all of them, which the entry says by its floor alone.
        bool journal = _first <= _checkpointBase;
        if (sequence > _last)
        {
            ClearState();
            _last = sequence - 1;
            _first = sequence;
            if (journal)
                JournalRange(sequence);
        }
        else if (sequence - _first <= _last - sequence || (journal && sequence <= _checkpointBase))
        {
            ForgetRange(_first, sequence, journal);
            if (journal)
                JournalRange(sequence);
            while (_deleted.Count > 0 && _deleted.Min < sequence)
                _deleted.Remove(_deleted.Min);
            _first = sequence;
            AdvanceFirst();
            _firstTimestamp = TimestampOf(_first);
            if (_messages == 0)
                FindLastLive();
        }
        else
        {
            // Most of the log goes: recounting what stays is cheaper than subtracting what leaves.
            Rebuild(sequence, _last);
            if (journal)
                JournalRange(sequence);
        }
        PersistMetadata();
        ulong removed = before - _messages;
        // Merges are what drop records below the floor, and without new appends none would come: start one, so
        // that a large purge gives its disk space back now rather than after the next 100k messages.
        if (removed >= MutableSegmentRecords)
            _maintainer.EvictToDisk();
        return removed;
    }

    /// <summary>The sequence below which everything goes so that the newest <paramref name="keep"/> messages stay.</summary>
    private ulong KeepCut(ulong keep)
    {
        if (keep >= _messages)
            return _first;
        using var iterator = _tree.CreateReverseIterator(IteratorType.NoRefresh, includeDeletedRecords: false, contributeToTheBlockCache: true);
        iterator.Seek(_last);
        ulong seen = 0;
        while (iterator.Next() && iterator.CurrentKey >= _first)
        {
            if (++seen == keep)
                return iterator.CurrentKey;
        }
        throw new InvalidOperationException("The message log's index and its records disagree.");
    }

    private ulong PurgeMatching(string filter, ulong belowSequence, ulong keep)
    {
        ulong total = 0, start = ulong.MaxValue;
        bool literal = !SubjectMatch.HasWildcards(filter);
        if (literal)
        {
            if (_subjects.TryGet(filter, out var entry))
            {
                total = entry.Count;
                start = entry.First;
            }
        }
        else
        {
            foreach (var (key, entry) in _subjects.Entries)
            {
                if (SubjectMatch.Matches(key, filter))
                {
                    total += entry.Count;
                    start = Math.Min(start, entry.First);
                }
            }
        }
        if (total == 0 || keep >= total)
            return 0;
        ulong toRemove = total - keep;
        ulong end = belowSequence == 0 ? _last : Math.Min(_last, belowSequence - 1);
        start = Math.Max(start, _first);
        if (start > end)
            return 0;

        var pattern = Encoding.UTF8.GetBytes(filter);
        // Found first and removed after: the journal entry, listing those the checkpoint covers, must precede the deletes.
        var doomed = _doomed;
        using (var iterator = _tree.CreateIterator(IteratorType.NoRefresh, includeDeletedRecords: false, contributeToTheBlockCache: true))
        {
            iterator.Seek(start);
            while ((ulong)doomed.Count < toRemove && iterator.Next())
            {
                ulong sequence = iterator.CurrentKey;
                if (sequence > end)
                    break;
                var value = iterator.CurrentValue;
                if (SubjectMatch.Matches(RecordCodec.GetSubject(value), pattern))
                    doomed.Add((sequence, value));
            }
        }
        if (doomed.Count == 0)
            return 0;
        ulong removed = (ulong)doomed.Count;
        bool journaled = false;
        if (doomed[0].Sequence <= _checkpointBase)
        {
            _journal.BeginMessages(_checkpointBase);
            foreach (var (sequence, value) in doomed)
                if (sequence <= _checkpointBase)
                    _journal.AddMessage(sequence, RecordCodec.StoredSize(value, _options.InMemory), RecordCodec.GetSubject(value));
            WriteJournal();
            journaled = true;
        }
        bool lastRemoved = false;
        foreach (var (sequence, value) in doomed)
        {
            Remove(sequence, value);
            lastRemoved |= sequence == _lastLive;
        }
        doomed.Clear();
        FinishRemoval(lastRemoved, journaled);
        return removed;
    }

    /// <summary>Deletes one live message from the tree and from the in-memory state, leaving first/last to the caller.</summary>
    private void Remove(ulong sequence, byte[] value)
    {
        try
        {
            _tree.ForceDelete(sequence);
        }
        catch (Exception ex)
        {
            Fail(ex);
            throw;
        }
        Forget(sequence, value);
        _deleted.Add(sequence);
        _removedInto?.Add(sequence);
    }

    private void Forget(ulong sequence, byte[] value)
    {
        _messages--;
        _bytes -= RecordCodec.StoredSize(value, _options.InMemory);
        _subjects.OnRemove(RecordCodec.GetSubject(value), sequence);
    }

    /// <summary>
    /// Subtracts the live messages in [from, to) from the in-memory state, before the floor hides them; with
    /// <paramref name="journal"/>, also sums per subject what leaves of the messages the checkpoint covers.
    /// </summary>
    private void ForgetRange(ulong from, ulong to, bool journal)
    {
        _rangeRemoved.Clear();
        using var iterator = _tree.CreateIterator(IteratorType.NoRefresh, includeDeletedRecords: false, contributeToTheBlockCache: false);
        iterator.Seek(from);
        while (iterator.Next() && iterator.CurrentKey < to)
        {
            ulong sequence = iterator.CurrentKey;
            var value = iterator.CurrentValue;
            ulong size = RecordCodec.StoredSize(value, _options.InMemory);
            _messages--;
            _bytes -= size;
            if (_subjects.OnRemove(RecordCodec.GetSubject(value), sequence, out var subject) && journal && sequence <= _checkpointBase)
            {
                ref var removed = ref CollectionsMarshal.GetValueRefOrAddDefault(_rangeRemoved, subject, out _);
                removed = (removed.Count + 1, removed.Bytes + size);
            }
        }
    }

    /// <summary>Journals a removal of everything below <paramref name="floor"/>, with the per-subject sums <see cref="ForgetRange"/> left.</summary>
    private void JournalRange(ulong floor)
    {
        _journal.BeginRange(_checkpointBase, floor);
        if (floor <= _checkpointBase)
            foreach (var (subject, removed) in _rangeRemoved)
                _journal.AddSubject(subject, removed.Count, removed.Bytes);
        _rangeRemoved.Clear();
        WriteJournal();
    }

    /// <summary>
    /// Writes the entry built in <see cref="_journal"/> as the next removal, ahead of the removal's own writes; the
    /// metadata record written after them carries the new count.
    /// </summary>
    private void WriteJournal()
    {
        _removals++;
        _sinceCheckpoint += _journal.Count + 1;
        Write(RemovalJournal.KeyOf(_removals), _journal.ToArray());
        if (_sinceCheckpoint >= _checkpointThreshold)
            StartCheckpoint();
    }

    private void FinishRemoval(bool lastRemoved, bool journaled = false)
    {
        bool firstMoved = AdvanceFirst();
        if (firstMoved)
            _firstTimestamp = TimestampOf(_first);
        if (lastRemoved)
            FindLastLive();
        // The records alone tell a gap in the middle; a moved first or a deleted newest message needs the metadata,
        // and so does a journaled removal (its count).
        if (firstMoved || lastRemoved || journaled)
            PersistMetadata();
    }

    private bool AdvanceFirst()
    {
        ulong before = _first;
        while (_first <= _last && _deleted.Remove(_first))
            _first++;
        return _first != before;
    }

    private void ClearState()
    {
        _subjects.Clear();
        _deleted.Clear();
        _lastLive = 0;
        _messages = 0;
        _bytes = 0;
        _firstTimestamp = 0;
        _lastTimestamp = 0;
    }

    private void PersistMetadata()
    {
        Write(LogMetadata.Key, new LogMetadata(_first, _last, _removals).Encode());
        // Only after the floor is in the WAL: readers and merges stop seeing what lies below it from here on.
        Volatile.Write(ref _floor, _first);
    }

    private void Write(ulong key, byte[] value)
    {
        try
        {
            _tree.Upsert(key, value);
        }
        catch (Exception ex)
        {
            // Whether the engine kept the record is unknown now; refusing further writes beats acking on top of that.
            Fail(ex);
            throw;
        }
        if (_options.Memtables is { } budget)
            CountMemtable(value.Length, budget);
    }

    /// <summary>
    /// Freezes the memtable once its records reach this log's part of the budget: a part for it and one for each
    /// frozen memtable that may wait for a merge (<see cref="MaxReadOnlySegments"/>), so the log's unmerged records
    /// stay within its part. ZoneTree freezes memtables by record count on its own; each new memtable starts the count
    /// over and takes its limit from the logs open at that moment.
    /// </summary>
    private void CountMemtable(int recordBytes, MemtableBudget budget)
    {
        var memtable = _tree.Maintenance.MutableSegment;
        if (!ReferenceEquals(memtable, _countedMemtable))
        {
            _countedMemtable = memtable;
            _memtableBytes = 0;
            _memtableLimit = budget.PerLogBytes / (MaxReadOnlySegments + 1);
        }
        _memtableBytes += recordBytes + MemtableBudget.EntryOverheadBytes;
        if (_memtableBytes >= _memtableLimit)
            _maintainer.EvictToDisk();
    }

    // ---- recovery and checkpoints ----

    /// <summary>Learns the in-memory state on open: from the checkpoint if it adds up, else by reading every message.</summary>
    private LogRecovery Recover(LogMetadata metadata)
    {
        long started = Stopwatch.GetTimestamp();
        string why = "no checkpoint";
        if (_checkpointPath is not null && File.Exists(_checkpointPath))
        {
            ulong scanned = 0, entries = 0;
            var checkpoint = RecoveryCheckpoint.TryRead(_checkpointPath);
            why = checkpoint is null ? "the checkpoint is damaged" : RecoverFrom(checkpoint, metadata, out scanned, out entries) ?? "";
            if (checkpoint is not null && why.Length == 0)
            {
                _checkpointBase = checkpoint.Covered;
                _journalCovered = checkpoint.Removals;
                _sinceCheckpoint = (long)(scanned + entries);
                return new LogRecovery(true, scanned, entries, Stopwatch.GetElapsedTime(started), null);
            }
        }

        ulong read = Rebuild(metadata.Floor, Math.Max(metadata.Last, metadata.Floor - 1));
        _removals = metadata.Removals;
        _sinceCheckpoint = (long)read;
        if (_checkpointPath is not null)
        {
            // A checkpoint that did not add up now may seem to later (say, once the tree holds its sequences again),
            // when removals made until the next checkpoint are not journaled against it: it must go.
            File.Delete(_checkpointPath);
            // A removal the crash interrupted before it counted itself in the metadata: the scan saw what it did.
            ulong interrupted = RemovalJournal.KeyOf(metadata.Removals + 1);
            if (_tree.TryGet(interrupted, out _))
                _tree.ForceDelete(interrupted);
        }
        return new LogRecovery(false, read, 0, Stopwatch.GetElapsedTime(started), why);
    }

    /// <summary>
    /// Checkpoint, then the journal after it, then the messages after it; false (with the state half-built, for
    /// <see cref="Rebuild"/> to clear) as soon as anything does not add up.
    /// </summary>
    private string? RecoverFrom(RecoveryCheckpoint checkpoint, LogMetadata metadata, out ulong scanned, out ulong entries)
    {
        scanned = entries = 0;
        ulong covered = checkpoint.Covered;
        if (checkpoint.Removals > metadata.Removals || checkpoint.First == 0 || checkpoint.LastLive > covered)
            return "the checkpoint is ahead of the log's metadata";
        _first = checkpoint.First;
        _last = covered;
        _lastLive = checkpoint.LastLive;
        _messages = checkpoint.Messages;
        _bytes = checkpoint.Bytes;
        _firstTimestamp = checkpoint.FirstTimestampNanos;
        _lastTimestamp = checkpoint.LastTimestampNanos;
        _deleted.Clear();
        _deleted.UnionWith(checkpoint.Deleted);
        _subjects.Load(checkpoint.Subjects);

        // The journal: every entry after the checkpoint's count up to the metadata's, each against this checkpoint's
        // base, plus at most one a crash interrupted.
        ulong next = checkpoint.Removals + 1;
        byte[]? interrupted = null;
        using (var iterator = _tree.CreateIterator(IteratorType.NoRefresh, includeDeletedRecords: false, contributeToTheBlockCache: false))
        {
            iterator.Seek(RemovalJournal.KeyOf(next));
            while (iterator.Next())
            {
                var value = iterator.CurrentValue;
                if (RemovalJournal.NumberOf(iterator.CurrentKey) != next || interrupted is not null
                    || !RemovalJournal.Entry.TryRead(value, out var entry) || entry.Base != covered)
                    return "the removal journal does not continue the checkpoint (a gap, or entries against a checkpoint that never reached the disk)";
                if (next > metadata.Removals)
                {
                    if (entry.Kind == RemovalKind.Messages && !ApplyJournaled(entry))
                        return "a journaled removal does not fit the checkpoint";
                    // A range removal takes effect with its metadata write, which the crash prevented: nothing to undo.
                    interrupted = value;
                }
                else if (!ApplyJournaled(entry))
                {
                    return "a journaled removal does not fit the checkpoint";
                }
                next++;
                entries++;
            }
        }
        if (next <= metadata.Removals)
            return "journaled removals are missing";
        // Before anything reads the tree for the newest live message: it must not find one the removal already took.
        if (interrupted is not null)
            FinishInterrupted(interrupted);

        // The messages appended after the checkpoint; the gaps among them are deletions.
        if (_messages == 0)
        {
            if (_subjects.Count != 0 || _bytes != 0)
                return "the checkpoint's counts disagree";
            _deleted.Clear();
        }
        ulong highest = covered;
        scanned = CountFrom(covered + 1, ref highest);
        _last = Math.Max(Math.Max(highest, covered), Math.Max(metadata.Last, metadata.Floor - 1));
        if (_messages == 0)
        {
            ClearState();
            _first = _last + 1;
        }
        else
        {
            for (ulong gap = highest + 1; gap <= _last && gap > highest; gap++)
                _deleted.Add(gap);
            if (!_tree.TryGet(_first, out var firstRecord))
                return "the first message is missing";
            _firstTimestamp = RecordCodec.GetTimestampNanos(firstRecord);
            FindLastLive();
            if (_lastLive < _first)
                return "no live message where the checkpoint has some";
        }
        // The floor moves with the first sequence, under the same lock and in the same write as the removal count:
        // unless an interrupted removal moved it further, they agree.
        if (interrupted is null ? _first != metadata.Floor : _first < metadata.Floor)
            return "the first sequence disagrees with the log's floor";
        if (interrupted is not null && RemovalJournal.Entry.TryRead(interrupted, out var finished) && finished.Kind == RemovalKind.Messages)
        {
            // Counted from now on: later opens read it as a complete entry.
            _removals++;
            PersistMetadata();
        }
        return null;
    }

    /// <summary>Subtracts one journaled removal from the checkpoint's state (the messages up to its base only).</summary>
    private bool ApplyJournaled(RemovalJournal.Entry entry)
    {
        var items = entry.Items;
        if (entry.Kind == RemovalKind.Range)
        {
            ulong floor = entry.Floor;
            if (floor > _last)
            {
                ClearState();
                _first = floor;
                return true;
            }
            while (items.TryReadSubject(out var subject, out ulong count, out ulong bytes))
            {
                if (count > _messages || bytes > _bytes || !_subjects.Subtract(subject, count, floor))
                    return false;
                _messages -= count;
                _bytes -= bytes;
            }
            while (_deleted.Count > 0 && _deleted.Min < floor)
                _deleted.Remove(_deleted.Min);
            _first = Math.Max(_first, floor);
            AdvanceFirst();
            return true;
        }
        while (items.TryReadMessage(out ulong sequence, out ulong size, out var subject))
        {
            // Each one was live when it went, in the checkpoint's view as much as in the log's.
            if (sequence < _first || sequence > _last || _messages == 0 || size > _bytes || !_deleted.Add(sequence) || !_subjects.OnRemove(subject, sequence))
                return false;
            _messages--;
            _bytes -= size;
        }
        AdvanceFirst();
        return true;
    }

    /// <summary>
    /// Completes a removal of chosen messages the crash interrupted (already subtracted from the state) by deleting
    /// what it had not deleted yet; the removal was never acknowledged, so finishing it is as right as undoing it,
    /// and needs nothing but its entry. An interrupted range removal had done nothing (its metadata write is the
    /// removal): its entry goes.
    /// </summary>
    private void FinishInterrupted(byte[] interrupted)
    {
        RemovalJournal.Entry.TryRead(interrupted, out var entry);
        if (entry.Kind == RemovalKind.Messages)
        {
            var items = entry.Items;
            while (items.TryReadMessage(out ulong sequence, out _, out _))
                if (_tree.TryGet(sequence, out _))
                    _tree.ForceDelete(sequence);
        }
        else
        {
            _tree.ForceDelete(RemovalJournal.KeyOf(_removals + 1));
        }
    }

    /// <summary>Writes a checkpoint now (or lets the one being written finish); for tests that need one at a known point.</summary>
    internal Task CheckpointAsync()
    {
        lock (_lock)
        {
            StartCheckpoint();
            return _checkpointWrite;
        }
    }

    /// <summary>Starts writing a checkpoint in the background unless one is being written. Call under the lock.</summary>
    private void StartCheckpoint()
    {
        if (_checkpointPath is null || !_checkpointWrite.IsCompleted)
            return;
        _checkpointWrite = Task.Run(() =>
        {
            RecoveryCheckpoint checkpoint;
            lock (_lock)
            {
                if (_disposed || Volatile.Read(ref _failure) is not null)
                    return;
                checkpoint = Capture();
            }
            TryWriteCheckpoint(checkpoint);
        });
    }

    /// <summary>
    /// The state as a checkpoint, under the lock (a copy of the subject index and the deleted set: the only part of a
    /// checkpoint that holds up appends, and in proportion to the state, not the log). From here on removals journal
    /// their effect on messages up to its last sequence.
    /// </summary>
    private RecoveryCheckpoint Capture()
    {
        var deleted = new ulong[_deleted.Count];
        _deleted.CopyTo(deleted);
        var checkpoint = new RecoveryCheckpoint
        {
            Covered = _last,
            Removals = _removals,
            First = _first,
            LastLive = _lastLive,
            Messages = _messages,
            Bytes = _bytes,
            FirstTimestampNanos = _firstTimestamp,
            LastTimestampNanos = _lastTimestamp,
            Deleted = deleted,
            Subjects = _subjects.Snapshot(),
        };
        _checkpointBase = _last;
        _sinceCheckpoint = 0;
        _checkpointThreshold = Math.Max(_options.CheckpointEveryChanges, deleted.Length + checkpoint.Subjects.Length);
        return checkpoint;
    }

    /// <summary>Serialises and saves a captured checkpoint, outside the lock; once it is on disk merges may drop the journal it includes.</summary>
    private void TryWriteCheckpoint(RecoveryCheckpoint checkpoint)
    {
        try
        {
            checkpoint.Write(_checkpointPath!);
            Volatile.Write(ref _journalCovered, checkpoint.Removals);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not fatal: removals from now on are journaled against a base the file on disk does not have, so a crash
            // before the next checkpoint is written makes the next open scan every message.
        }
    }

    // ---- rebuilding and lookups ----

    /// <summary>Recomputes all in-memory state from the live records at or after <paramref name="from"/>; returns how many it read.</summary>
    private ulong Rebuild(ulong from, ulong lastKnown)
    {
        ClearState();
        ulong highest = 0;
        CountFrom(Math.Max(from, 1), ref highest);
        _last = Math.Max(highest, lastKnown);
        if (_messages == 0)
        {
            _first = _last + 1;
            return 0;
        }
        for (ulong gap = highest + 1; gap <= _last && gap > highest; gap++)
            _deleted.Add(gap);
        return _messages;
    }

    /// <summary>
    /// Adds the live records from <paramref name="from"/> on to the in-memory state, the gaps between them (and after
    /// <paramref name="highest"/>, the last sequence already accounted for) as deletions; returns how many it read.
    /// </summary>
    private ulong CountFrom(ulong from, ref ulong highest)
    {
        ulong read = 0;
        using var iterator = _tree.CreateIterator(IteratorType.NoRefresh, includeDeletedRecords: false, contributeToTheBlockCache: false);
        iterator.Seek(from);
        // Message keys end below the batch marker (live while a batch is appended) and the removal journal.
        while (iterator.Next() && iterator.CurrentKey < AtomicAppendMarker.Key)
        {
            ulong sequence = iterator.CurrentKey;
            var value = iterator.CurrentValue;
            if (_messages == 0)
            {
                _first = sequence;
                _firstTimestamp = RecordCodec.GetTimestampNanos(value);
            }
            else
            {
                for (ulong gap = highest + 1; gap < sequence; gap++)
                    _deleted.Add(gap);
            }
            highest = sequence;
            _lastLive = sequence;
            _messages++;
            _bytes += RecordCodec.StoredSize(value, _options.InMemory);
            _lastTimestamp = RecordCodec.GetTimestampNanos(value);
            _subjects.OnAppend(RecordCodec.GetSubject(value), sequence);
            read++;
        }
        return read;
    }

    /// <summary>Turns a subject's lower/upper bounds back into its exact first/last sequence.</summary>
    private void ResolveStale(string subject, SubjectIndex.Entry entry)
    {
        if (!entry.FirstStale && !entry.LastStale)
            return;
        var bytes = Encoding.UTF8.GetBytes(subject);
        if (entry.FirstStale)
        {
            using var iterator = _tree.CreateIterator(IteratorType.NoRefresh, includeDeletedRecords: false, contributeToTheBlockCache: true);
            iterator.Seek(Math.Max(entry.First, _first));
            while (iterator.Next() && iterator.CurrentKey <= entry.Last)
            {
                if (RecordCodec.GetSubject(iterator.CurrentValue).SequenceEqual(bytes))
                {
                    entry.First = iterator.CurrentKey;
                    entry.FirstStale = false;
                    break;
                }
            }
        }
        if (entry.LastStale)
        {
            using var iterator = _tree.CreateReverseIterator(IteratorType.NoRefresh, includeDeletedRecords: false, contributeToTheBlockCache: true);
            iterator.Seek(Math.Min(entry.Last, _last));
            while (iterator.Next() && iterator.CurrentKey >= entry.First && iterator.CurrentKey != LogMetadata.Key)
            {
                if (RecordCodec.GetSubject(iterator.CurrentValue).SequenceEqual(bytes))
                {
                    entry.Last = iterator.CurrentKey;
                    entry.LastStale = false;
                    break;
                }
            }
        }
    }

    private long TimestampOf(ulong sequence) =>
        _messages != 0 && _tree.TryGet(sequence, out var value) ? RecordCodec.GetTimestampNanos(value) : 0;

    private void FindLastLive()
    {
        _lastLive = 0;
        _lastTimestamp = 0;
        if (_messages == 0)
            return;
        using var iterator = _tree.CreateReverseIterator(IteratorType.NoRefresh, includeDeletedRecords: false, contributeToTheBlockCache: true);
        iterator.Seek(_last);
        if (iterator.Next() && iterator.CurrentKey >= _first)
        {
            _lastLive = iterator.CurrentKey;
            _lastTimestamp = RecordCodec.GetTimestampNanos(iterator.CurrentValue);
        }
    }

    /// <summary>Captures the range a scan may cover and the filter it applies; false when nothing can match.</summary>
    private bool TryGetScanBounds(ulong fromSequence, string? subjectFilter, out ulong start, out ulong end, out byte[]? pattern)
    {
        pattern = null;
        lock (_lock)
        {
            ThrowIfUnusable();
            start = Math.Max(fromSequence, _first);
            end = _last;
            if (subjectFilter is not null && !IsAllSubjects(subjectFilter))
            {
                // A literal subject narrows the scan to its own span; stale bounds are still valid bounds.
                if (!SubjectMatch.HasWildcards(subjectFilter))
                {
                    if (!_subjects.TryGet(subjectFilter, out var entry))
                        return false;
                    start = Math.Max(start, entry.First);
                    end = Math.Min(end, entry.Last);
                }
                pattern = PatternBytes(subjectFilter);
            }
        }
        return start <= end;
    }

    /// <summary>Consumers read with the same filter over and over; keep its UTF-8 form instead of encoding it per read.</summary>
    private byte[] PatternBytes(string filter)
    {
        var cached = Volatile.Read(ref _patternCache);
        if (cached is not null && string.Equals(cached.Filter, filter, StringComparison.Ordinal))
            return cached.Bytes;
        var bytes = Encoding.UTF8.GetBytes(filter);
        Volatile.Write(ref _patternCache, new PatternCache(filter, bytes));
        return bytes;
    }

    private static bool IsAllSubjects(string filter) => filter.Length == 0 || SubjectMatch.IsFullWildcard(filter);

    // ---- engine hooks and plumbing ----

    // Key 0 is the metadata record, never below the floor. An empty array is how ForceDelete marks a deletion. Journal
    // entries a checkpoint on disk includes are no longer needed: merges drop them.
    private bool IsDeleted(in ulong key, in byte[] value) =>
        value is null || value.Length == 0 || (RemovalJournal.IsKey(key)
            ? RemovalJournal.NumberOf(key) <= Volatile.Read(ref _journalCovered)
            : key != LogMetadata.Key && key < Volatile.Read(ref _floor));

    private bool IsRangeDeleted(in ulong firstKey, in byte[] firstValue, in ulong lastKey, in byte[] lastValue) =>
        firstKey != LogMetadata.Key && lastKey < Volatile.Read(ref _floor);

    private async Task SyncPeriodicallyAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                await _tree.SyncWALAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // An fsync that failed may have dropped written pages (Linux forgets them); acking more would hide that.
            Fail(ex);
        }
    }

    private void Fail(Exception exception) => Interlocked.CompareExchange(ref _failure, exception, null);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void ThrowIfUnusable()
    {
        ThrowIfDisposed();
        var failure = Volatile.Read(ref _failure);
        if (failure is not null)
            throw new IOException("The message log has failed; reopen it to recover what was written.", failure);
    }

    private static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
            Directory.Delete(path, recursive: true);
    }

    private sealed record PatternCache(string Filter, byte[] Bytes);
}
