namespace Platform.Grains.Client;

/// <summary>One message to publish: a subject captured by the stream, an optional NATS header set, and the payload.</summary>
public readonly record struct OutgoingMessage(string Subject, ReadOnlyMemory<byte> Payload, IReadOnlyDictionary<string, string>? Headers = null);

/// <summary>
/// One message delivered by <see cref="PlatformStreams.ConsumeAsync"/>. <see cref="Payload"/> is a slice of the
/// fetched batch buffer; it stays valid (nothing reuses the buffer), so it may be kept after the loop moves on.
/// </summary>
public sealed record ConsumedMessage(
    string Stream,
    string Subject,
    ulong StreamSequence,
    ulong ConsumerSequence,
    uint Deliveries,
    ulong Pending,
    DateTime Timestamp,
    IReadOnlyDictionary<string, string> Headers,
    ReadOnlyMemory<byte> Payload);

/// <summary>A message read directly from a stream by <see cref="PlatformStreams.GetMessageAsync"/> or <see cref="PlatformStreams.GetLastMessageAsync"/>.</summary>
public sealed record StreamMessage(
    string Stream,
    string Subject,
    ulong Sequence,
    DateTime Timestamp,
    IReadOnlyDictionary<string, string> Headers,
    ReadOnlyMemory<byte> Payload);

/// <summary>How <see cref="PlatformStreams.ConsumeAsync"/> creates (if missing) and drives its durable pull consumer.</summary>
public sealed record ConsumeOptions
{
    /// <summary>Messages asked for per Fetch call; also the ack batch size.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>How long one Fetch waits in the consumer grain for new messages before returning empty.</summary>
    public TimeSpan FetchWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Used only when the consumer does not exist yet.</summary>
    public Consumers.DeliverPolicy DeliverPolicy { get; init; } = Consumers.DeliverPolicy.All;

    /// <summary>With <see cref="Consumers.DeliverPolicy.ByStartSequence"/>: the first sequence to deliver.</summary>
    public ulong StartSequence { get; init; }

    /// <summary>Subjects to take from the stream (none: all). Used only when the consumer does not exist yet.</summary>
    public string[]? FilterSubjects { get; init; }

    /// <summary>Redelivery timeout for messages handed out but not yet acked (the batch is acked when the loop asks for the next one).</summary>
    public TimeSpan AckWait { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>A platform call failed with a JetStream API error (the same codes a NATS client would see).</summary>
public sealed class PlatformStreamException(Streams.ApiError error)
    : Exception($"{error.Description} (status {error.Code}, error code {error.ErrCode})")
{
    public Streams.ApiError Error { get; } = error;
}
