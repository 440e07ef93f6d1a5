using System.Text.Json.Serialization;

namespace Platform.Grains.Streams;

/// <summary>
/// A stream's <c>consumer_limits</c> (2.10): the defaults of its consumers' inactive_threshold and max_ack_pending, and
/// the most a consumer may ask for. Zero is no limit.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.StreamConsumerLimits")]
public sealed record StreamConsumerLimits
{
    [Id(0), JsonPropertyName("inactive_threshold"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long InactiveThreshold { get; init; }
    [Id(1), JsonPropertyName("max_ack_pending"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long MaxAckPending { get; init; }
}
