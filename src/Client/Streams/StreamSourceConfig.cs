using System.Text.Json.Serialization;

namespace Platform.Grains.Streams;

/// <summary>
/// A stream's <c>mirror</c> or one of its <c>sources</c>, with nats-server's JSON names: the origin stream, where to
/// start in it, which of its subjects to take (a filter, or 2.10's subject transforms, each a filter with an optional
/// new subject) and, for another JetStream domain, its API prefix.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.StreamSourceConfig")]
public sealed record StreamSourceConfig
{
    [Id(0), JsonPropertyName("name")] public string Name { get; init; } = "";
    [Id(1), JsonPropertyName("opt_start_seq"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong OptStartSeq { get; init; }
    [Id(2), JsonPropertyName("opt_start_time"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public DateTime? OptStartTime { get; init; }
    [Id(3), JsonPropertyName("filter_subject"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? FilterSubject { get; init; }
    [Id(4), JsonPropertyName("subject_transforms"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public SubjectTransformConfig[]? SubjectTransforms { get; init; }
    [Id(5), JsonPropertyName("external"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ExternalStreamConfig? External { get; init; }

    /// <summary>
    /// The source's identity among a stream's sources, which heads the Nats-Stream-Source header of what it copies: the
    /// name alone (as nats-server 2.9 writes it) or, with a filter or transforms, the name, the filters and their
    /// destinations (as 2.10 composes it, so two sources of one stream with different filters are two sources).
    /// </summary>
    [JsonIgnore]
    public string IndexName
    {
        get
        {
            var name = External is { Api.Length: > 0 } external ? Name + ":" + external.Api : Name;
            if (!string.IsNullOrEmpty(FilterSubject))
                return $"{name} {FilterSubject} >";
            if (SubjectTransforms is not { Length: > 0 } transforms)
                return name;
            var sources = new string[transforms.Length];
            var destinations = new string[transforms.Length];
            for (int i = 0; i < transforms.Length; i++)
            {
                sources[i] = string.IsNullOrEmpty(transforms[i].Source) ? ">" : transforms[i].Source;
                destinations[i] = string.IsNullOrEmpty(transforms[i].Destination) ? ">" : transforms[i].Destination;
            }
            return $"{name} {string.Join('\f', sources)} {string.Join('\f', destinations)}";
        }
    }

    /// <summary>Structural equality: the record's own compares the transform array by reference.</summary>
    public bool SameAs(StreamSourceConfig? other)
    {
        if (other is null)
            return false;
        if (this with { SubjectTransforms = null } != other with { SubjectTransforms = null })
            return false;
        var mine = SubjectTransforms ?? [];
        var theirs = other.SubjectTransforms ?? [];
        return mine.AsSpan().SequenceEqual(theirs);
    }

    public static bool SameAs(StreamSourceConfig[]? a, StreamSourceConfig[]? b)
    {
        a ??= [];
        b ??= [];
        if (a.Length != b.Length)
            return false;
        for (int i = 0; i < a.Length; i++)
            if (!a[i].SameAs(b[i]))
                return false;
        return true;
    }
}

/// <summary>A source in another JetStream domain or account: its API prefix and the prefix its messages are delivered under.</summary>
[GenerateSerializer, Immutable, Alias("platform.ExternalStreamConfig")]
public sealed record ExternalStreamConfig
{
    [Id(0), JsonPropertyName("api")] public string Api { get; init; } = "";
    [Id(1), JsonPropertyName("deliver"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Deliver { get; init; }
}
