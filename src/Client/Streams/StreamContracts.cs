using Platform.Grains.Replication;
using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>What STREAM.INFO reports: the configuration, creation time and log state, and how its mirror or sources keep up.</summary>
[GenerateSerializer, Immutable, Alias("platform.StreamInfo")]
public sealed record PlatformStreamInfo(
    [property: Id(0)] PlatformStreamConfig Config,
    [property: Id(1)] DateTime Created,
    [property: Id(2)] LogState State,
    [property: Id(3)] ulong[]? Deleted,
    [property: Id(4)] Dictionary<string, ulong>? Subjects,
    [property: Id(5)] int ConsumerCount,
    [property: Id(60)] ReplicaPeer[]? Replicas = null,
    [property: Id(92)] StreamSourceInfo? Mirror = null,
    [property: Id(93)] StreamSourceInfo[]? Sources = null)
{
    /// <summary>
    /// One view of a partitioned stream: counts add up over the partitions; sequences are each partition's own, so
    /// first and last sequence are partition 0's, while times span them all.
    /// </summary>
    public static PlatformStreamInfo Combine(IReadOnlyList<PlatformStreamInfo> partitions)
    {
        var root = partitions[0];
        if (partitions.Count == 1)
            return root;
        ulong messages = 0, bytes = 0;
        int subjects = 0, deleted = 0;
        long firstTs = 0, lastTs = 0;
        Dictionary<string, ulong>? subjectCounts = root.Subjects is null ? null : new(StringComparer.Ordinal);
        foreach (var p in partitions)
        {
            messages += p.State.Messages;
            bytes += p.State.Bytes;
            subjects += p.State.NumSubjects;
            deleted += p.State.NumDeleted;
            if (p.State.Messages > 0 && (firstTs == 0 || p.State.FirstTimestampNanos < firstTs))
                firstTs = p.State.FirstTimestampNanos;
            lastTs = Math.Max(lastTs, p.State.LastTimestampNanos);
            if (subjectCounts is not null && p.Subjects is not null)
                foreach (var (subject, count) in p.Subjects)
                    subjectCounts[subject] = count;
        }
        var state = root.State with
        {
            Messages = messages, Bytes = bytes, NumSubjects = subjects, NumDeleted = deleted,
            FirstTimestampNanos = firstTs, LastTimestampNanos = lastTs,
        };
        return root with { State = state, Subjects = subjectCounts };
    }
}

/// <summary>The outcome of a stream operation: a value or a JetStream API error.</summary>
/// <remarks>The alias carries the generic arity: Orleans parses a generic alias as a type name, and without the
/// arity it cannot read back the name it wrote for a closed type.</remarks>
[GenerateSerializer, Immutable, Alias("platform.StreamResult`1")]
public sealed record StreamResult<T>([property: Id(0)] T? Value, [property: Id(1)] ApiError? Error)
{
    public static StreamResult<T> Ok(T value) => new(value, null);
    public static StreamResult<T> Fail(ApiError error) => new(default, error);
}

/// <summary>The result of one published message, in the order the batch framed them.</summary>
/// <remarks>Fields left at their default are not written, so a counter's total costs nothing on other streams' acks.</remarks>
[GenerateSerializer, Immutable, OmitDefaultMemberValues, Alias("platform.PublishAck")]
public readonly record struct PublishAck(
    [property: Id(0)] ulong Sequence,
    [property: Id(1)] bool Duplicate,
    [property: Id(2)] ApiError? Error,
    [property: Id(140)] string? CounterTotal = null,
    [property: Id(170)] string? Batch = null,
    [property: Id(171)] ulong BatchCount = 0)
{
    /// <summary>
    /// A message of an atomic batch before its commit: held, not stored. nats-server answers it with an empty message
    /// (when the publisher asked for a reply), so the publisher can pace itself.
    /// </summary>
    public bool Staged => Batch is not null && BatchCount == 0;

    public static PublishAck StagedIn(string batch) => new(0, false, null, null, batch);
}

/// <summary>A stored message as MSG.GET and DIRECT.GET return it.</summary>
[GenerateSerializer, Immutable, Alias("platform.StoredMessage")]
public sealed record StoredMessage(
    [property: Id(0)] string Subject,
    [property: Id(1)] ulong Sequence,
    [property: Id(2)] byte[] Headers,
    [property: Id(3)] byte[] Payload,
    [property: Id(4)] long TimestampNanos);

/// <summary>MSG.GET / DIRECT.GET: by sequence, last by subject, or next by subject from a sequence.</summary>
[GenerateSerializer, Immutable, Alias("platform.MessageQuery")]
public sealed record MessageQuery(
    [property: Id(0)] ulong Sequence,
    [property: Id(1)] string? LastBySubject,
    [property: Id(2)] string? NextBySubject);

[GenerateSerializer, Immutable, Alias("platform.PurgeRequest")]
public sealed record PurgeRequest(
    [property: Id(0)] string? Filter,
    [property: Id(1)] ulong Sequence,
    [property: Id(2)] ulong Keep);
