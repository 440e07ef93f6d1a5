using System.Text.Json.Serialization;

namespace Platform.Grains.Streams;

/// <summary>
/// A stream's <c>placement</c>: kept and returned. As with a nats-server that is not clustered, it does not move the
/// stream; the catalog picks homes by load.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.StreamPlacement")]
public sealed record StreamPlacement
{
    [Id(0), JsonPropertyName("cluster"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Cluster { get; init; }
    [Id(1), JsonPropertyName("tags"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string[]? Tags { get; init; }

    public bool SameAs(StreamPlacement? other)
        => other is not null && Cluster == other.Cluster && (Tags ?? []).AsSpan().SequenceEqual(other.Tags ?? []);
}
