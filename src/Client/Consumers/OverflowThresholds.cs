using Orleans.Concurrency;

namespace Platform.Grains.Consumers;

/// <summary>
/// An overflow pull request's thresholds (2.11, ADR-42): it is served only while the consumer's pending messages
/// (not yet delivered, the one about to go counted) reach <paramref name="MinPending"/> or its ack pending reaches
/// <paramref name="MinAckPending"/>; zero is no threshold, and with neither it is served as any request.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.OverflowThresholds")]
public readonly record struct OverflowThresholds([property: Id(0)] long MinPending, [property: Id(1)] long MinAckPending)
{
    public bool IsNone => MinPending <= 0 && MinAckPending <= 0;
}
