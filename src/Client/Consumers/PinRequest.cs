using Orleans.Concurrency;

namespace Platform.Grains.Consumers;

/// <summary>
/// A pull request's part in a pinned_client consumer's group (2.11, ADR-42): the <paramref name="Group"/> it is made
/// in and the pin <paramref name="Id"/> it carries (none until it is pinned). <paramref name="First"/> marks the
/// request's first fetch, where nats-server admits it: a matching id renews the pin there, a wrong one is refused.
/// <paramref name="Arrival"/> (UTC ticks) orders the requests waiting for a free pin, so the oldest gets it.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.PinRequest")]
public readonly record struct PinRequest(
    [property: Id(164)] string? Group,
    [property: Id(165)] string? Id,
    [property: Id(166)] bool First,
    [property: Id(167)] long Arrival)
{
    public bool IsNone => string.IsNullOrEmpty(Group);
}
