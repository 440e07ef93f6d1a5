namespace Platform.Gateway.Cluster;

/// <summary>
/// One call's worth of route frames (<see cref="RouteFrames"/>) from one silo. The frames are one memory field, which
/// Orleans serializes as a single block; immutable, so a local hop would not copy it either.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.RouteBatch")]
internal sealed class RouteBatch
{
    [Id(0)] public required SiloAddress Origin { get; init; }
    [Id(1)] public required ReadOnlyMemory<byte> Frames { get; init; }
}
