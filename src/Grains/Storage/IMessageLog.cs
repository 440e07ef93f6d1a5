namespace Platform.Grains.Storage;

/// <summary>
/// The append-only message log of one stream partition. The engine under it may change (ZoneTree today),
/// so stream grains only ever see this interface.
/// </summary>
/// <remarks>
/// Durability: when <see cref="Append"/> returns, the message survives a kill -9 of the process.
/// <see cref="CommitAsync"/> additionally makes everything appended so far survive power loss when the log
/// runs with <see cref="LogSyncPolicy.Always"/>; concurrent callers share one fsync (group commit).
/// </remarks>
internal interface IMessageLog : IAsyncDisposable
{
    LogState State { get; }

    /// <summary>Appends one message with sequence <c>State.LastSequence + 1</c> and returns that sequence.</summary>
    ulong Append(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, long timestampNanos);

    /// <summary>Completes when what was appended is as durable as the sync policy asks.</summary>
    ValueTask CommitAsync();

    /// <summary>Completes when the engine's merge backlog allows more appends (write backpressure).</summary>
    ValueTask WaitForCapacityAsync(CancellationToken cancellationToken = default);

    bool TryGet(ulong sequence, out LogRecord record);

    /// <summary>Reads messages with sequence &gt;= <paramref name="fromSequence"/> in order, skipping deleted ones.</summary>
    /// <param name="subjectFilter">null for all subjects; otherwise only records whose subject matches (wildcards allowed).</param>
    /// <returns>The number of records added to <paramref name="into"/>.</returns>
    int Read(ulong fromSequence, int maxCount, long maxBytes, string? subjectFilter, List<LogRecord> into);

    bool TryGetLastBySubject(string subject, out LogRecord record);

    /// <summary>The first record at or after <paramref name="fromSequence"/> whose subject matches the filter.</summary>
    bool TryGetNextBySubject(ulong fromSequence, string subjectFilter, out LogRecord record);

    bool Delete(ulong sequence);

    /// <summary>Removes every message with sequence below <paramref name="sequence"/>; returns how many were removed.</summary>
    ulong RemoveBelow(ulong sequence);

    /// <summary>
    /// Purges messages matching <paramref name="subjectFilter"/> (null: all) that are below <paramref name="belowSequence"/>
    /// (0: no bound), keeping the newest <paramref name="keep"/> per the filter (0: keep none). Returns how many were removed.
    /// A full purge with no filter moves the first sequence to the last sequence + 1, as nats-server does.
    /// </summary>
    ulong Purge(string? subjectFilter, ulong belowSequence, ulong keep);

    /// <summary>Per-subject message counts for subjects matching the filter.</summary>
    IReadOnlyDictionary<string, ulong> SubjectCounts(string subjectFilter);

    /// <summary>State of one subject: count and first/last sequence; Count 0 when absent.</summary>
    SubjectState GetSubjectState(string subject);

    /// <summary>Sequences between first and last that were deleted (interior gaps), ascending.</summary>
    IReadOnlyCollection<ulong> DeletedSequences { get; }

    /// <summary>On an empty log, makes the next appended sequence <paramref name="sequence"/> (stream first_seq).</summary>
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
    /// <summary>Memory storage: same semantics, nothing survives a restart.</summary>
    public bool InMemory { get; init; }
    public LogSyncPolicy SyncPolicy { get; init; } = LogSyncPolicy.Interval;
    /// <summary>nats-server's default sync_interval is 2 minutes.</summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromMinutes(2);
}

[GenerateSerializer, Immutable]
public readonly record struct LogState(
    [property: Id(0)] ulong FirstSequence,
    [property: Id(1)] ulong LastSequence,
    [property: Id(2)] ulong Messages,
    [property: Id(3)] ulong Bytes,
    [property: Id(4)] long FirstTimestampNanos,
    [property: Id(5)] long LastTimestampNanos,
    [property: Id(6)] int NumSubjects,
    [property: Id(7)] int NumDeleted);

[GenerateSerializer, Immutable]
public readonly record struct SubjectState([property: Id(0)] ulong Count, [property: Id(1)] ulong First, [property: Id(2)] ulong Last);
