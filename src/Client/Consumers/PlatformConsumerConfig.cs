using System.Text.Json.Serialization;
using Platform.Grains.Streams;

namespace Platform.Grains.Consumers;

[JsonConverter(typeof(JsonStringEnumConverter<DeliverPolicy>))]
public enum DeliverPolicy
{
    [JsonStringEnumMemberName("all")] All,
    [JsonStringEnumMemberName("last")] Last,
    [JsonStringEnumMemberName("new")] New,
    [JsonStringEnumMemberName("by_start_sequence")] ByStartSequence,
    [JsonStringEnumMemberName("by_start_time")] ByStartTime,
    [JsonStringEnumMemberName("last_per_subject")] LastPerSubject,
}

[JsonConverter(typeof(JsonStringEnumConverter<AckPolicy>))]
public enum AckPolicy
{
    [JsonStringEnumMemberName("none")] None,
    [JsonStringEnumMemberName("all")] All,
    [JsonStringEnumMemberName("explicit")] Explicit,
}

/// <summary>2.11's priority policy of a pull consumer's groups (ADR-42).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PriorityPolicy>))]
public enum PriorityPolicy
{
    [JsonStringEnumMemberName("none")] None,
    /// <summary>A request may ask to be served only once the consumer's pending or ack pending reach a threshold.</summary>
    [JsonStringEnumMemberName("overflow")] Overflow,
    /// <summary>
    /// One client at a time is served: the first request delivered to is pinned, and the others wait until the pinned
    /// client stops pulling for <see cref="PlatformConsumerConfig.PinnedTtl"/> or an unpin request frees the pin.
    /// </summary>
    [JsonStringEnumMemberName("pinned_client")] PinnedClient,
}

[JsonConverter(typeof(JsonStringEnumConverter<ReplayPolicy>))]
public enum ReplayPolicy
{
    [JsonStringEnumMemberName("instant")] Instant,
    [JsonStringEnumMemberName("original")] Original,
}

/// <summary>A consumer's configuration with JetStream's JSON names; durations are nanoseconds.</summary>
[GenerateSerializer, Immutable, Alias("platform.ConsumerConfig")]
public sealed record PlatformConsumerConfig
{
    [Id(0), JsonPropertyName("durable_name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? DurableName { get; init; }
    [Id(1), JsonPropertyName("name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Name { get; init; }
    [Id(2), JsonPropertyName("description"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Description { get; init; }
    [Id(3), JsonPropertyName("deliver_policy")] public DeliverPolicy DeliverPolicy { get; init; }
    [Id(4), JsonPropertyName("opt_start_seq"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong OptStartSeq { get; init; }
    [Id(5), JsonPropertyName("opt_start_time"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public DateTime? OptStartTime { get; init; }
    [Id(6), JsonPropertyName("ack_policy")] public AckPolicy AckPolicy { get; init; }
    [Id(7), JsonPropertyName("ack_wait")] public long AckWait { get; init; }
    [Id(8), JsonPropertyName("max_deliver")] public long MaxDeliver { get; init; }
    [Id(9), JsonPropertyName("backoff"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long[]? Backoff { get; init; }
    [Id(10), JsonPropertyName("filter_subject"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? FilterSubject { get; init; }
    [Id(11), JsonPropertyName("filter_subjects"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string[]? FilterSubjects { get; init; }
    [Id(12), JsonPropertyName("replay_policy")] public ReplayPolicy ReplayPolicy { get; init; }
    [Id(13), JsonPropertyName("rate_limit_bps"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong RateLimitBps { get; init; }
    [Id(14), JsonPropertyName("sample_freq"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? SampleFrequency { get; init; }
    [Id(15), JsonPropertyName("max_waiting"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int MaxWaiting { get; init; }
    [Id(16), JsonPropertyName("max_ack_pending")] public long MaxAckPending { get; init; }
    [Id(17), JsonPropertyName("flow_control"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool FlowControl { get; init; }
    [Id(18), JsonPropertyName("idle_heartbeat"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long IdleHeartbeat { get; init; }
    [Id(19), JsonPropertyName("headers_only"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool HeadersOnly { get; init; }
    [Id(20), JsonPropertyName("max_batch"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int MaxBatch { get; init; }
    [Id(21), JsonPropertyName("max_expires"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long MaxExpires { get; init; }
    [Id(22), JsonPropertyName("max_bytes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long MaxBytes { get; init; }
    [Id(23), JsonPropertyName("inactive_threshold"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long InactiveThreshold { get; init; }
    [Id(24), JsonPropertyName("deliver_subject"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? DeliverSubject { get; init; }
    [Id(25), JsonPropertyName("deliver_group"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? DeliverGroup { get; init; }
    [Id(26), JsonPropertyName("num_replicas")] public int NumReplicas { get; init; }
    [Id(27), JsonPropertyName("mem_storage"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool MemoryStorage { get; init; }
    [Id(28), JsonPropertyName("metadata"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, string>? Metadata { get; init; }
    /// <summary>Our extension, for partitioned streams: the one partition this consumer reads.</summary>
    [Id(29), JsonPropertyName("partition"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int Partition { get; init; }
    /// <summary>2.11: no delivery before this time (UTC); set at create or through the PAUSE API, never by an update.</summary>
    [Id(130), JsonPropertyName("pause_until"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public DateTime? PauseUntil { get; init; }
    /// <summary>2.11: the groups a pull request names (its "group") to be served under <see cref="PriorityPolicy"/>.</summary>
    [Id(150), JsonPropertyName("priority_groups"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string[]? PriorityGroups { get; init; }
    [Id(151), JsonPropertyName("priority_policy"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public PriorityPolicy PriorityPolicy { get; init; }
    /// <summary>2.11's priority_timeout (nanoseconds): how long a pinned client keeps its pin without a new pull request.</summary>
    [Id(160), JsonPropertyName("priority_timeout"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long PinnedTtl { get; init; }

    [JsonIgnore] public bool IsPush => !string.IsNullOrEmpty(DeliverSubject);
    [JsonIgnore] public bool IsDurable => !string.IsNullOrEmpty(DurableName);

    /// <summary>How long the consumer stays paused from <paramref name="utcNow"/>; zero when it is not paused.</summary>
    public TimeSpan PauseRemaining(DateTime utcNow) => PauseUntil is { } until && until > utcNow ? until - utcNow : TimeSpan.Zero;

    /// <summary>The subjects this consumer takes from the stream; empty for all.</summary>
    [JsonIgnore]
    public string[] Filters => FilterSubjects is { Length: > 0 } many ? many
        : string.IsNullOrEmpty(FilterSubject) ? [] : [FilterSubject];

    /// <summary>
    /// nats-server's defaults for fields left out; a stream's consumer_limits (2.10) come before the server's own
    /// defaults for max_ack_pending and inactive_threshold.
    /// </summary>
    public PlatformConsumerConfig WithDefaults(StreamConsumerLimits? limits = null)
    {
        const long second = 1_000_000_000;
        var self = this;
        if (limits is not null)
            self = this with
            {
                MaxAckPending = MaxAckPending == 0 ? limits.MaxAckPending : MaxAckPending,
                InactiveThreshold = InactiveThreshold == 0 ? limits.InactiveThreshold : InactiveThreshold,
            };
        return self.Defaults(second);
    }

    private PlatformConsumerConfig Defaults(long second)
    {
        return this with
        {
            Name = Name ?? DurableName,
            AckWait = AckWait > 0 ? AckWait : 30 * second,
            MaxDeliver = MaxDeliver == 0 ? -1 : MaxDeliver,
            MaxAckPending = MaxAckPending == 0 && AckPolicy != AckPolicy.None ? 1000 : MaxAckPending,
            // A push consumer keeps what it was given, for validation to refuse.
            MaxWaiting = IsPush || MaxWaiting != 0 ? MaxWaiting : 512,
            InactiveThreshold = InactiveThreshold == 0 && !IsDurable ? 5 * second : InactiveThreshold,
            // As nats-server (not pedantic): a negative timeout is none, and a pinned policy without one gets 2 minutes.
            PinnedTtl = PinnedTtl > 0 ? PinnedTtl : PriorityPolicy == PriorityPolicy.PinnedClient ? 120 * second : 0,
        };
    }

    /// <summary>Equality as nats-server judges "the same configuration" (its arrays and metadata by content).</summary>
    public bool SameAs(PlatformConsumerConfig other)
        => this with { Backoff = null, FilterSubjects = null, Metadata = null, PriorityGroups = null } == other with { Backoff = null, FilterSubjects = null, Metadata = null, PriorityGroups = null }
           && (Backoff ?? []).AsSpan().SequenceEqual(other.Backoff ?? [])
           && (PriorityGroups ?? []).AsSpan().SequenceEqual(other.PriorityGroups ?? [])
           && (FilterSubjects ?? []).AsSpan().SequenceEqual(other.FilterSubjects ?? [])
           && PlatformStreamConfig.MetadataEquals(Metadata, other.Metadata);
}
