namespace Platform.Grains.Streams;

/// <summary>
/// One atomic batch being published into a stream partition (ADR-50): its messages, copied as they arrive and held in
/// the stream grain until the commit stores them all at once, or dropped on a gap, an error or a timeout.
/// </summary>
/// <remarks>
/// Held in memory only: a batch not committed when the silo stops is gone, as nothing of it was acknowledged beyond
/// the empty replies that pace the publisher.
/// </remarks>
internal sealed class AtomicBatch(long now)
{
    /// <summary>nats-server's defaults: messages per batch, open batches per stream, and the inactivity timeout.</summary>
    public const int MaxSize = 1000;
    public const int MaxInflightPerStream = 50;
    public const int MaxInflightPerSilo = 1000;
    public static readonly long TimeoutTicks = TimeSpan.FromSeconds(10).Ticks;

    /// <summary>Open batches of every stream grain of this silo (nats-server counts them per server).</summary>
    private static int _open;

    /// <summary>Counts a new batch against the silo's limit; false when the silo has as many open as it allows.</summary>
    public static bool TryOpen()
    {
        if (Interlocked.Increment(ref _open) <= MaxInflightPerSilo)
            return true;
        Interlocked.Decrement(ref _open);
        return false;
    }

    public static void Closed(int count) => Interlocked.Add(ref _open, -count);

    public List<StagedMessage> Messages { get; } = [];
    /// <summary>The batch sequence of the last message taken in.</summary>
    public ulong LastSequence { get; set; }
    /// <summary>When the batch last received a message (<see cref="Environment.TickCount64"/> in ticks).</summary>
    public long LastActivity { get; set; } = now;

    public bool Expired(long now) => now - LastActivity > TimeoutTicks;

    /// <summary>nats-server's refusal of allow_atomic on a mirror, and the silo's where the batch could not be kept whole.</summary>
    public static ApiError? CheckConfig(PlatformStreamConfig config)
    {
        if (config.Mirror is not null)
            return ApiError.MirrorWithAtomicPublish;
        // Each partition has its own log and sequence: one append cannot span them.
        if (config.Partitions > 1)
            return ApiError.InvalidConfig("partitioned streams can not use atomic batch publish");
        // Replicas receive the frames of each publish call, not a batch staged across calls.
        if (config.NumReplicas > 1)
            return ApiError.InvalidConfig("replicated streams can not use atomic batch publish yet");
        // Republish sends from the frames of the publish call, which do not hold a batch's staged messages.
        if (config.RePublish is not null)
            return ApiError.InvalidConfig("atomic batch streams can not republish yet");
        return null;
    }
}

/// <summary>A staged message, copied out of the publish call's frame buffer (which is lent to the grain for the call only).</summary>
internal sealed record StagedMessage(byte[] Subject, byte[] Headers, byte[] Payload)
{
    public int Size => Headers.Length + Payload.Length;
}
