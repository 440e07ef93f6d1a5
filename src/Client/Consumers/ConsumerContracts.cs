using Orleans.Concurrency;

namespace Platform.Grains.Consumers;

/// <summary>A (consumer sequence, stream sequence) pair as consumer info reports delivered and ack floor.</summary>
[GenerateSerializer, Immutable, Alias("platform.SequencePair")]
public readonly record struct SequencePair([property: Id(0)] ulong ConsumerSeq, [property: Id(1)] ulong StreamSeq);

[GenerateSerializer, Immutable, Alias("platform.ConsumerInfo")]
public sealed record PlatformConsumerInfo(
    [property: Id(0)] string Stream,
    [property: Id(1)] string Name,
    [property: Id(2)] DateTime Created,
    [property: Id(3)] PlatformConsumerConfig Config,
    [property: Id(4)] SequencePair Delivered,
    [property: Id(5)] DateTime? LastActive,
    [property: Id(6)] SequencePair AckFloor,
    [property: Id(7)] long NumAckPending,
    [property: Id(8)] long NumRedelivered,
    [property: Id(9)] ulong NumPending,
    [property: Id(161)] string? PinnedClientId = null,
    [property: Id(162)] DateTime? PinnedAt = null,
    [property: Id(170)] Replication.ReplicaPeer[]? Replicas = null);

/// <summary>
/// Messages handed to the gateway to deliver, framed in one buffer. Each frame is
/// <c>[sseq:u64][cseq:u64][deliveries:u32][pending:u64][record:i32 length][record]</c> with the record as the log stores it.
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.DeliveryBatch")]
public sealed record DeliveryBatch(
    [property: Id(0)] byte[] Frames,
    [property: Id(1)] int Length,
    [property: Id(2)] int Count,
    [property: Id(3)] ulong NumPending,
    [property: Id(4)] FetchStatus Status,
    [property: Id(5)] ulong LastStreamSeq,
    [property: Id(6)] ulong LastConsumerSeq,
    [property: Id(7)] ulong[]? MaxDeliveriesReached = null,
    [property: Id(163)] string? PinId = null);

public enum FetchStatus
{
    Ok,
    /// <summary>The consumer was deleted (or never existed): pull requests end with 409 Consumer Deleted.</summary>
    Deleted,
    /// <summary>The next message alone is larger than the request's max_bytes: 409 Message Size Exceeds MaxBytes.</summary>
    TooLarge,
    /// <summary>The pull request's first fetch carried a pin id other than the current pin: 423 Nats-Pin-Id mismatch.</summary>
    PinIdMismatch,
    /// <summary>A waiting request's pin id is no longer the pin (it moved or was freed): 423 Nats-Wrong-Pin-Id.</summary>
    WrongPinId,
}

/// <summary>What an unpin request found.</summary>
[GenerateSerializer, Alias("platform.UnpinOutcome")]
public enum UnpinOutcome
{
    Unpinned,
    NoSuchConsumer,
    /// <summary>The consumer has no such priority group.</summary>
    NoSuchGroup,
}

/// <summary>One ack from a $JS.ACK subject, applied in a batch.</summary>
[GenerateSerializer, Immutable, Alias("platform.AckOp")]
public readonly record struct AckOp(
    [property: Id(0)] AckKind Kind,
    [property: Id(1)] ulong StreamSeq,
    [property: Id(2)] ulong ConsumerSeq,
    [property: Id(3)] long DelayNanos)
{
    /// <summary>No acks, for a <see cref="IConsumerGrain.Fetch"/> that brings none.</summary>
    public static readonly Immutable<AckOp[]> None = new([]);
}

public enum AckKind : byte { Ack, Nak, Progress, Term, Next }

[Alias("platform.IConsumerGrain")]
public interface IConsumerGrain : IGrainWithStringKey
{
    /// <param name="reportAcks">For workqueue and interest streams: tell the stream which messages this consumer is done with.</param>
    [Alias("Create")] Task<Streams.StreamResult<PlatformConsumerInfo>> Create(string stream, PlatformConsumerConfig config, bool reportAcks);
    [Alias("Info")] Task<PlatformConsumerInfo?> Info();
    [Alias("Config")] Task<PlatformConsumerConfig?> GetConfig();

    /// <summary>The stream sequence below which this consumer owes nothing (interest retention cleans up to it).</summary>
    [Alias("AckFloor")] Task<ulong> AckFloor();
    [Alias("Delete")] Task<bool> Delete();

    /// <summary>
    /// Pauses delivery until <paramref name="until"/> (UTC), or resumes it when null or past; the time is kept in the
    /// config and survives restarts. Returns the config as it now is, null when the consumer does not exist.
    /// </summary>
    [Alias("Pause")] Task<PlatformConsumerConfig?> Pause(DateTime? until);

    /// <summary>
    /// Up to <paramref name="maxMessages"/> messages (redeliveries first), within <paramref name="maxBytes"/> when positive.
    /// Waits up to <paramref name="wait"/> for something to deliver; returns an empty batch when nothing came.
    /// <paramref name="acks"/> are applied first, as <see cref="Ack"/> without durable would: the acks a client sent
    /// just before its next pull request (a worker's Fetch loop) then cost no call of their own.
    /// </summary>
    [Alias("Fetch")] Task<Immutable<DeliveryBatch>> Fetch(int maxMessages, long maxBytes, TimeSpan wait, Immutable<AckOp[]> acks);

    /// <summary>A <see cref="Fetch(int, long, TimeSpan, Immutable{AckOp[]})"/> that takes only what <paramref name="overflow"/> allows, waiting for the rest.</summary>
    [Alias("FetchOverflow")] Task<Immutable<DeliveryBatch>> Fetch(int maxMessages, long maxBytes, TimeSpan wait, Immutable<AckOp[]> acks, OverflowThresholds overflow);

    /// <summary>
    /// A <see cref="Fetch(int, long, TimeSpan, Immutable{AckOp[]}, OverflowThresholds)"/> in a pinned_client group:
    /// served only as the pinned client (the batch's <see cref="DeliveryBatch.PinId"/> says which pin), and pinned when
    /// the pin is free and it is the oldest request waiting for it.
    /// </summary>
    [Alias("FetchPinned")] Task<Immutable<DeliveryBatch>> Fetch(int maxMessages, long maxBytes, TimeSpan wait, Immutable<AckOp[]> acks, OverflowThresholds overflow, PinRequest pin);

    /// <summary>2.11's CONSUMER.UNPIN: frees the pin so that the next request is pinned, whoever sends it.</summary>
    [Alias("Unpin")] Task<UnpinOutcome> Unpin(string group);

    /// <param name="durable">
    /// Someone waits for an answer (AckSync): return only once the acks survive kill -9 (and, with sync always, a
    /// power loss), and fail otherwise. Other acks are written too but may be lost with the process.
    /// </param>
    [Alias("Ack")] Task Ack(Immutable<AckOp[]> acks, bool durable);

    /// <summary>
    /// A client answered a push consumer's flow control request on a silo that does not run its delivery loop: the
    /// answer goes to the loop, which runs where this grain is.
    /// </summary>
    [Alias("FlowControlAnswered")] Task FlowControlAnswered(string subject);

    /// <summary>
    /// Its stream moves to another node: delivery stops here and the state is saved whole (false if it could not be),
    /// so the files the move copies are the consumer's state; acks until <see cref="EndMove"/> are refused.
    /// </summary>
    [Alias("BeginMove")] Task<bool> BeginMove();

    /// <summary>Moved, this activation goes without writing again; else delivery resumes here.</summary>
    [Alias("EndMove")] Task EndMove(bool moved);
}
