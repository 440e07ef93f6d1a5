namespace Platform.Grains.Streams;

/// <summary>
/// What stream info reports of a mirror or source: how far behind the origin it is (<paramref name="Lag"/>, messages),
/// how long since it last heard from the origin (<paramref name="Active"/>, -1: never) and the error that stops it.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.StreamSourceInfo")]
public sealed record StreamSourceInfo(
    [property: Id(0)] StreamSourceConfig Source,
    [property: Id(1)] ulong Lag,
    [property: Id(2)] TimeSpan? Active,
    [property: Id(3)] ApiError? Error);
