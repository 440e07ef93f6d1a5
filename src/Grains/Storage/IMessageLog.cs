namespace Platform.Grains.Storage;

/// <summary>
/// The append-only message log of one stream partition. The engine under it may change (ZoneTree today),
/// so stream grains only ever see this interface.
/// </summary>
/// <remarks>
/// <para>Durability: when <see cref="Append"/> returns, the message survives a kill -9 of the process.
/// <see cref="CommitAsync"/> additionally makes everything appended so far survive power loss when the log
/// runs with <see cref="LogSyncPolicy.Always"/>; concurrent callers share one fsync (group commit).</para>
/// <para>Sequences follow nats-server: they start at 1 (or at <see cref="SetNextSequence"/>), never repeat, and the
/// last sequence never goes back, even when the newest messages are deleted or purged. An empty log has
/// <c>FirstSequence = LastSequence + 1</c> (a new log reports 1/0 where nats-server reports 0/0) and timestamps 0.
/// Every sequence between first and last is either readable or listed in <see cref="DeletedSequences"/>.</para>
/// <para>Methods may be called from any thread. Records handed out share their bytes with the log: treat them as
/// immutable.</para>
/// </remarks>
internal interface IMessageLog : IAsyncDisposable
{
    LogState State { get; }

    /// <summary>How the open learned the log's state (diagnostics: recovery after a crash reads only what changed since the last checkpoint).</summary>
    LogRecovery Recovery { get; }

    /// <summary>How many file descriptors the log holds open now; it grows with the data on disk.</summary>
    int OpenFiles { get; }

    /// <summary>Appends one message with sequence <c>State.LastSequence + 1</c> and returns that sequence.</summary>
    /// <remarks>Throws if the write failed; the log then refuses further writes until reopened.</remarks>
    ulong Append(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, long timestampNanos);

    /// <summary>
    /// Starts appending <paramref name="count"/> messages as one (an atomic batch): until the scope is disposed no reader
    /// sees any of them, and a crash before then leaves none of them in the log after recovery. Call
    /// <see cref="Append"/> (and anything else) on the same thread, with no await, until the scope ends.
    /// </summary>
    IDisposable BeginAtomic(int count);

    /// <summary>Completes when what was appended is as durable as the sync policy asks.</summary>
    ValueTask CommitAsync();

    /// <summary>Completes when the engine's merge backlog allows more appends (write backpressure).</summary>
    /// <remarks>Call before appending a batch; it completes synchronously in the common case.</remarks>
    ValueTask WaitForCapacityAsync(CancellationToken cancellationToken = default);

    bool TryGet(ulong sequence, out LogRecord record);

    /// <summary>
    /// Reads every stored message and returns the first whose record is not as written (<see cref="RecordCodec.IsIntact"/>),
    /// or null. The engine's own errors on damaged files are thrown.
    /// </summary>
    ulong? FindDamage();

    /// <summary>Reads messages with sequence &gt;= <paramref name="fromSequence"/> in order, skipping deleted ones.</summary>
    /// <param name="maxCount">At most this many records; 0 or less reads nothing.</param>
    /// <param name="maxBytes">
    /// 0 or less: no limit. Otherwise the sum of <see cref="LogRecord.Size"/> stays within it, and the first record that
    /// does not fit ends the read, even when it is the first one (0 is returned; <see cref="TryGetNextBySubject"/> finds
    /// it, so the caller can answer as nats-server does for a message larger than max_bytes).
    /// </param>
    /// <param name="subjectFilter">null, "" or "&gt;" for all subjects; otherwise only records whose subject matches (wildcards allowed).</param>
    /// <returns>The number of records added to <paramref name="into"/> (which is not cleared first).</returns>
    int Read(ulong fromSequence, int maxCount, long maxBytes, string? subjectFilter, List<LogRecord> into);

    /// <summary>The newest message on <paramref name="subject"/>; with wildcards, the newest on any matching subject.</summary>
    bool TryGetLastBySubject(string subject, out LogRecord record);

    /// <summary>The first record at or after <paramref name="fromSequence"/> whose subject matches the filter ("" or "&gt;": any).</summary>
    bool TryGetNextBySubject(ulong fromSequence, string subjectFilter, out LogRecord record);

    /// <summary>Deletes one message; false when it is not in the log (never stored, already deleted or purged).</summary>
    bool Delete(ulong sequence);

    /// <summary>
    /// Removes every message with sequence below <paramref name="sequence"/>; returns how many were removed. Like
    /// nats-server's compact, a sequence past the last one empties the log and becomes the next sequence assigned.
    /// </summary>
    ulong RemoveBelow(ulong sequence);

    /// <summary>
    /// Purges messages matching <paramref name="subjectFilter"/> (null, "" or "&gt;": all) that are below <paramref name="belowSequence"/>
    /// (0: no bound), keeping the newest <paramref name="keep"/> of those matching the filter as a whole (0: keep none), as
    /// nats-server's purge request does. Returns how many were removed. A full purge (no filter, bound or keep) moves the
    /// first sequence to the last sequence + 1; with no filter and a bound it is <see cref="RemoveBelow"/>.
    /// </summary>
    ulong Purge(string? subjectFilter, ulong belowSequence, ulong keep);

    /// <summary>Per-subject message counts for subjects matching the filter.</summary>
    IReadOnlyDictionary<string, ulong> SubjectCounts(string subjectFilter);

    /// <summary>State of one subject: count and first/last sequence; all 0 when absent. With wildcards, the combined state of the matching subjects.</summary>
    SubjectState GetSubjectState(string subject);

    /// <summary>
    /// Where each message removed one by one (a delete, a filtered purge, a per-subject limit) is added, under the log's
    /// lock; null: nowhere. Removals below a new first sequence are not listed: the first sequence says them.
    /// </summary>
    List<ulong>? RemovedInto { set; }

    /// <summary>Sequences between first and last that were deleted (interior gaps), ascending; a snapshot.</summary>
    IReadOnlyCollection<ulong> DeletedSequences { get; }

    /// <summary>Closes the log and deletes its files, skipping the merge a normal close does (stream delete).</summary>
    ValueTask DropAsync();

    /// <summary>On an empty log, makes the next appended sequence <paramref name="sequence"/> (stream first_seq); persisted.</summary>
    /// <exception cref="InvalidOperationException">The log holds messages.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sequence"/> is below the current first sequence: sequences never repeat.</exception>
    void SetNextSequence(ulong sequence);
}

internal enum LogSyncPolicy
{
    /// <summary>Acked means written to the OS; a timer fsyncs every <see cref="MessageLogOptions.SyncInterval"/>.</summary>
    Interval,
    /// <summary>Every commit waits for an fsync shared with concurrent commits.</summary>
    Always,
}

internal sealed record MessageLogOptions
{
    public required string Directory { get; init; }
    /// <summary>Memory storage: same semantics, nothing survives a restart (a scratch directory under <see cref="Directory"/> is used and deleted).</summary>
    public bool InMemory { get; init; }
    public LogSyncPolicy SyncPolicy { get; init; } = LogSyncPolicy.Interval;
    /// <summary>nats-server's default sync_interval is 2 minutes.</summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>
    /// A recovery checkpoint is written once this many appends and journaled removals happened since the last one (or
    /// as many as the checkpoint holds, if more); recovery after a crash reads about this many messages. Tests lower it.
    /// </summary>
    public long CheckpointEveryChanges { get; init; } = 100_000;
    /// <summary>The memory this log's memtables share with the other open logs; null: bounded by their record count only.</summary>
    public MemtableBudget? Memtables { get; init; }
}

/// <summary>
/// How an open learned the log's state: from a checkpoint (then <paramref name="RecordsScanned"/> are the messages
/// appended after it and <paramref name="JournalEntries"/> the removals applied to it) or by reading every message,
/// and then <paramref name="FullScanReason"/> says why. <paramref name="Elapsed"/> is that part;
/// <paramref name="EngineOpen"/> the engine's own open before it (ZoneTree replaying its WAL: bounded by what was not
/// merged yet, not by the size of the log). <paramref name="QuarantinedFiles"/> counts what a crashed merge left behind
/// and the open set aside (<see cref="LeftoverSegments"/>).
/// </summary>
internal readonly record struct LogRecovery(bool FromCheckpoint, ulong RecordsScanned, ulong JournalEntries, TimeSpan Elapsed, string? FullScanReason, TimeSpan EngineOpen = default,
    int QuarantinedFiles = 0);
