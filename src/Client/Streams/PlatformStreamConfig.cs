using System.Text.Json.Serialization;

namespace Platform.Grains.Streams;

[JsonConverter(typeof(JsonStringEnumConverter<RetentionPolicy>))]
public enum RetentionPolicy
{
    [JsonStringEnumMemberName("limits")] Limits,
    [JsonStringEnumMemberName("interest")] Interest,
    [JsonStringEnumMemberName("workqueue")] WorkQueue,
}

[JsonConverter(typeof(JsonStringEnumConverter<DiscardPolicy>))]
public enum DiscardPolicy
{
    [JsonStringEnumMemberName("old")] Old,
    [JsonStringEnumMemberName("new")] New,
}

/// <summary>What the user asked the store to compress with: kept and returned; the log stores messages as they are.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StoreCompression>))]
public enum StoreCompression
{
    [JsonStringEnumMemberName("none")] None,
    [JsonStringEnumMemberName("s2")] S2,
}

[JsonConverter(typeof(JsonStringEnumConverter<StorageType>))]
public enum StorageType
{
    [JsonStringEnumMemberName("file")] File,
    [JsonStringEnumMemberName("memory")] Memory,
}

/// <summary>
/// A stream's configuration with JetStream's JSON names, so the same type is the API body, the persisted metadata
/// and the grain argument. Durations are nanoseconds, as on the wire. The API refuses a field it does not know (rather
/// than ignore what the user asked for).
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.StreamConfig")]
public sealed record PlatformStreamConfig
{
    [Id(0), JsonPropertyName("name")] public string Name { get; init; } = "";
    [Id(1), JsonPropertyName("description"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Description { get; init; }
    /// <summary>Empty for a mirror, and for a stream that only sources, which capture no publishes.</summary>
    [Id(2), JsonIgnore] public string[] Subjects { get; init; } = [];
    /// <summary>The JSON of <see cref="Subjects"/>: left out when empty, as nats-server does.</summary>
    [JsonPropertyName("subjects"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string[]? SubjectsJson { get => Subjects.Length == 0 ? null : Subjects; init => Subjects = value ?? []; }
    [Id(3), JsonPropertyName("retention")] public RetentionPolicy Retention { get; init; }
    [Id(4), JsonPropertyName("max_consumers")] public long MaxConsumers { get; init; }
    [Id(5), JsonPropertyName("max_msgs")] public long MaxMsgs { get; init; }
    [Id(6), JsonPropertyName("max_bytes")] public long MaxBytes { get; init; }
    [Id(7), JsonPropertyName("max_age")] public long MaxAge { get; init; }
    [Id(8), JsonPropertyName("max_msgs_per_subject")] public long MaxMsgsPerSubject { get; init; }
    [Id(9), JsonPropertyName("max_msg_size")] public int MaxMsgSize { get; init; }
    [Id(10), JsonPropertyName("discard")] public DiscardPolicy Discard { get; init; }
    [Id(12), JsonPropertyName("storage")] public StorageType Storage { get; init; }
    [Id(13), JsonPropertyName("num_replicas")] public int NumReplicas { get; init; }
    [Id(14), JsonPropertyName("no_ack"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool NoAck { get; init; }
    [Id(15), JsonPropertyName("duplicate_window"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long DuplicateWindow { get; init; }
    [Id(16), JsonPropertyName("allow_direct")] public bool AllowDirect { get; init; }
    [Id(17), JsonPropertyName("mirror_direct")] public bool MirrorDirect { get; init; }
    [Id(11), JsonPropertyName("discard_new_per_subject"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool DiscardNewPerSubject { get; init; }
    [Id(18), JsonPropertyName("sealed")] public bool Sealed { get; init; }
    [Id(19), JsonPropertyName("deny_delete")] public bool DenyDelete { get; init; }
    [Id(20), JsonPropertyName("deny_purge")] public bool DenyPurge { get; init; }
    [Id(21), JsonPropertyName("allow_rollup_hdrs")] public bool AllowRollupHeaders { get; init; }
    [Id(22), JsonPropertyName("first_seq"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong FirstSeq { get; init; }
    [Id(23), JsonPropertyName("metadata"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, string>? Metadata { get; init; }
    /// <summary>2.12 (ADR-49): every message is a counter increment (Nats-Incr), stored as the subject's new total; fixed once the stream exists.</summary>
    [Id(140), JsonPropertyName("allow_msg_counter"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool AllowMsgCounter { get; init; }
    /// <summary>2.12 (ADR-50): publishes carrying Nats-Batch-Id are staged and stored all at once when their batch commits.</summary>
    [Id(170), JsonPropertyName("allow_atomic"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool AllowAtomic { get; init; }
    [Id(40), JsonPropertyName("compression"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public StoreCompression Compression { get; init; }
    [Id(41), JsonPropertyName("subject_transform"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public SubjectTransformConfig? SubjectTransform { get; init; }
    [Id(42), JsonPropertyName("republish"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public RePublishConfig? RePublish { get; init; }
    [Id(43), JsonPropertyName("placement"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public StreamPlacement? Placement { get; init; }
    [Id(44), JsonPropertyName("consumer_limits"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public StreamConsumerLimits? ConsumerLimits { get; init; }
    [Id(90), JsonPropertyName("mirror"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public StreamSourceConfig? Mirror { get; init; }
    [Id(91), JsonPropertyName("sources"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public StreamSourceConfig[]? Sources { get; init; }
    /// <summary>2.11 (ADR-43): messages may carry a Nats-TTL header, after which they are removed; once on, it stays on.</summary>
    [Id(131), JsonPropertyName("allow_msg_ttl"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool AllowMsgTtl { get; init; }
    /// <summary>2.11: when max_age or a TTL removes a subject's last message, a delete marker living this long (nanoseconds) takes its place.</summary>
    [Id(132), JsonPropertyName("subject_delete_marker_ttl"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long SubjectDeleteMarkerTtl { get; init; }
    /// <summary>Our extension: subjects hash to this many partitions, each its own grain, log and sequence.</summary>
    [Id(24), JsonPropertyName("partitions"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int Partitions { get; init; }

    /// <summary>nats-server's defaults for fields left out or zero.</summary>
    public PlatformStreamConfig WithDefaults()
    {
        const long defaultDuplicateWindow = 120_000_000_000;
        // A negative window (or max_age, which caps it) stays negative for validation to refuse, as nats-server does.
        // A mirror keeps the origin's messages as they are: it has no window of its own, and nats-server shows none.
        long duplicates = DuplicateWindow != 0 || Mirror is not null ? DuplicateWindow : defaultDuplicateWindow;
        if (MaxAge != 0 && MaxAge < duplicates)
            duplicates = MaxAge;
        return this with
        {
            // JSON leaves a missing array null even with an initializer.
            Subjects = Subjects is { Length: > 0 } ? Subjects : Mirror is null && Sources is not { Length: > 0 } ? [Name] : [],
            Sources = Sources is { Length: 0 } ? null : Sources,
            MaxConsumers = MaxConsumers == 0 ? -1 : MaxConsumers,
            MaxMsgs = MaxMsgs == 0 ? -1 : MaxMsgs,
            MaxBytes = MaxBytes == 0 ? -1 : MaxBytes,
            MaxMsgsPerSubject = MaxMsgsPerSubject == 0 ? -1 : MaxMsgsPerSubject,
            MaxMsgSize = MaxMsgSize == 0 ? -1 : MaxMsgSize,
            NumReplicas = NumReplicas == 0 ? 1 : NumReplicas,
            DuplicateWindow = duplicates,
            // A republish without a source takes every stored subject, and says so.
            RePublish = RePublish is { Source: null or "" } republish ? republish with { Source = ">" } : RePublish,
            // Markers are TTL'd messages that roll up their subject, so nats-server turns on what they need.
            AllowMsgTtl = AllowMsgTtl || SubjectDeleteMarkerTtl > 0,
            AllowRollupHeaders = AllowRollupHeaders || SubjectDeleteMarkerTtl > 0,
            DenyPurge = DenyPurge && SubjectDeleteMarkerTtl <= 0,
        };
    }

    /// <summary>Equality as nats-server judges "the same configuration" on a repeated create.</summary>
    public bool SameAs(PlatformStreamConfig other)
        => this with { Subjects = [], Metadata = null, Placement = null, Mirror = null, Sources = null }
               == other with { Subjects = [], Metadata = null, Placement = null, Mirror = null, Sources = null }
           && Subjects.AsSpan().SequenceEqual(other.Subjects)
           && (Mirror is null ? other.Mirror is null : Mirror.SameAs(other.Mirror))
           && StreamSourceConfig.SameAs(Sources, other.Sources)
           && (Placement is null ? other.Placement is null : Placement.SameAs(other.Placement))
           && MetadataEquals(Metadata, other.Metadata);

    internal static bool MetadataEquals(Dictionary<string, string>? a, Dictionary<string, string>? b)
    {
        if (a is null || a.Count == 0) return b is null || b.Count == 0;
        if (b is null || a.Count != b.Count) return false;
        foreach (var (k, v) in a)
            if (!b.TryGetValue(k, out var w) || w != v) return false;
        return true;
    }
}
