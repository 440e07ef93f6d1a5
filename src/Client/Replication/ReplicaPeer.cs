namespace Platform.Grains.Replication;

/// <summary>
/// One replica as stream info reports it, nats-server's peer info: whether it is current (in sync), how long ago the
/// primary last heard from it, and how many sequences it is behind.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.ReplicaPeer")]
public sealed record ReplicaPeer(
    [property: Id(0)] string Name,
    [property: Id(1)] bool Current,
    [property: Id(2)] TimeSpan Active,
    [property: Id(3)] ulong Lag);
