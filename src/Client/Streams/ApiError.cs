namespace Platform.Grains.Streams;

/// <summary>A JetStream API error: nats-server's HTTP-like code, its err_code and description.</summary>
[GenerateSerializer, Immutable, Alias("platform.ApiError")]
public sealed record ApiError([property: Id(0)] int Code, [property: Id(1)] int ErrCode, [property: Id(2)] string Description)
{
    public static readonly ApiError BadRequest = new(400, 10003, "bad request");
    public static readonly ApiError InvalidJson = new(400, 10025, "invalid JSON");
    public static readonly ApiError StreamNotFound = new(404, 10059, "stream not found");
    public static readonly ApiError StreamNameExists = new(400, 10058, "stream name already in use with a different configuration");
    public static readonly ApiError SubjectsOverlap = new(400, 10065, "subjects overlap with an existing stream");
    public static readonly ApiError StreamNameMismatch = new(400, 10056, "stream name in subject does not match request");
    public static readonly ApiError ReplicasNotSupported = new(500, 10074, "replicas > 1 not supported in non-clustered mode");
    public static readonly ApiError NoMessageFound = new(404, 10037, "no message found");
    public static readonly ApiError MessageTooLarge = new(400, 10054, "message size exceeds maximum allowed");
    public static readonly ApiError ExpectedStreamMismatch = new(400, 10060, "expected stream does not match");
    public static readonly ApiError RollupNotPermitted = new(500, 10111, "rollup not permitted");
    public static readonly ApiError DeleteNotPermitted = new(500, 10057, "message delete not permitted");
    public static readonly ApiError PurgeNotPermitted = new(500, 10110, "stream purge not permitted");
    public static readonly ApiError StreamSealed = new(400, 10109, "invalid operation on sealed stream");
    public static readonly ApiError NotEnabled = new(503, 10076, "JetStream not enabled");
    public static readonly ApiError MemoryResourcesExceeded = new(500, 10028, "insufficient memory resources available");
    public static readonly ApiError StorageResourcesExceeded = new(500, 10047, "insufficient storage resources available");
    /// <summary>The publish ack when the server's memory or file store already holds more than its limit.</summary>
    public static readonly ApiError InsufficientResources = new(503, 10023, "insufficient resources");
    /// <summary>
    /// What nats-server 2.9.10 answers when it cannot open a new stream's files (it had run out of descriptors); the
    /// silo answers it before it runs out, when its stream logs may not open another.
    /// </summary>
    public static readonly ApiError StreamOffline = new(500, 10118, "stream is offline");
    public static readonly ApiError StoreCreateFailed = new(500, 10049, "error creating store for stream");

    public static ApiError WrongLastSequence(ulong last) => new(400, 10071, $"wrong last sequence: {last}");
    public static ApiError WrongLastMsgId(string? id) => new(400, 10070, $"wrong last msg ID: {id}");
    public static ApiError StoreFailed(string reason) => new(503, 10077, reason);
    public static ApiError InvalidConfig(string reason) => new(500, 10052, reason);
    public static ApiError DeleteFailed(string reason) => new(500, 10057, reason);
}
