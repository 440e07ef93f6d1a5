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
    public static readonly ApiError MessageIncrDisabled = new(400, 10168, "message counters is disabled");
    public static readonly ApiError MessageIncrMissing = new(400, 10169, "message counter increment is missing");
    public static readonly ApiError MessageIncrPayload = new(400, 10170, "message counter has payload");
    public static readonly ApiError MessageIncrInvalid = new(400, 10171, "message counter increment is invalid");
    public static readonly ApiError MessageCounterBroken = new(400, 10172, "message counter is broken");
    public static readonly ApiError AtomicPublishDisabled = new(400, 10174, "atomic publish is disabled");
    public static readonly ApiError AtomicPublishMissingSequence = new(400, 10175, "atomic publish sequence is missing");
    public static readonly ApiError AtomicPublishIncomplete = new(400, 10176, "atomic publish batch is incomplete");
    public static readonly ApiError AtomicPublishInvalidBatchId = new(400, 10179, "atomic publish batch ID is invalid");
    public static readonly ApiError AtomicPublishInvalidCommit = new(400, 10200, "atomic publish batch commit is invalid");
    public static readonly ApiError AtomicPublishDuplicateMessage = new(400, 10201, "atomic publish batch contains duplicate message id");
    public static readonly ApiError AtomicPublishTooManyInflight = new(429, 10210, "atomic publish too many inflight");
    public static readonly ApiError MirrorWithAtomicPublish = new(400, 10198, "stream mirrors can not also use atomic publishing");
    /// <summary>Nats-Expected-Last-Sequence on a message of a batch other than the first.</summary>
    public static readonly ApiError WrongLastSequenceConstant = new(400, 10164, "wrong last sequence");

    public static readonly ApiError MirrorWithSubjects = new(400, 10034, "stream mirrors can not contain subjects");
    public static readonly ApiError MirrorWithSources = new(400, 10031, "stream mirrors can not also contain other sources");
    public static readonly ApiError MirrorWithFirstSeq = new(400, 10143, "stream mirrors can not have first sequence configured");
    public static readonly ApiError MirrorNotUpdatable = new(400, 10055, "stream mirror configuration can not be updated");
    public static readonly ApiError MirrorInvalidStreamName = new(400, 10142, "mirrored stream name is invalid");
    public static readonly ApiError MirrorMultipleFilters = new(400, 10150, "mirror with multiple subject transforms cannot also have a single subject filter");
    public static readonly ApiError MirrorInvalidSubjectFilter = new(400, 10151, "mirror subject filter is invalid");
    public static readonly ApiError MirrorOverlappingFilters = new(400, 10152, "mirror subject filters can not overlap");
    public static readonly ApiError MirrorInvalidTransform = new(400, 10154, "mirror transform destination is invalid");
    public static readonly ApiError MirrorWithCounters = new(400, 10173, "stream mirrors can not also calculate counters");
    public static readonly ApiError SourceDuplicate = new(400, 10140, "duplicate source configuration detected");
    public static readonly ApiError SourceInvalidStreamName = new(400, 10141, "sourced stream name is invalid");
    public static readonly ApiError SourceMultipleFilters = new(400, 10144, "source with multiple subject transforms cannot also have a single subject filter");
    public static readonly ApiError SourceInvalidSubjectFilter = new(400, 10145, "source subject filter is invalid");
    public static readonly ApiError SourceInvalidTransform = new(400, 10146, "source transform destination is invalid");
    public static readonly ApiError SourceOverlappingFilters = new(400, 10147, "source filters can not overlap");
    public static readonly ApiError MessageTtlInvalid = new(400, 10165, "invalid per-message TTL");
    public static readonly ApiError MessageTtlDisabled = new(400, 10166, "per-message TTL is disabled");
    public static readonly ApiError ConsumerAlreadyExists = new(400, 10148, "consumer already exists");
    public static readonly ApiError ConsumerDoesNotExist = new(400, 10149, "consumer does not exist");
    public static readonly ApiError ConsumerMaxDeliverBackoff = new(400, 10116, "max deliver is required to be > length of backoff values");
    public static readonly ApiError ConsumerOverlappingFilters = new(400, 10138, "consumer subject filters cannot overlap");
    public static readonly ApiError ConsumerPinnedTtlWithoutPolicy = new(400, 10197, "PinnedTTL cannot be set when PriorityPolicy is none");
    public static readonly ApiError ConsumerInvalidGroupName = new(400, 10162, "Valid priority group name must match A-Z, a-z, 0-9, -_/=)+ and may not exceed 16 characters");
    public static readonly ApiError ConsumerInvalidPriorityGroup = new(400, 10160, "Provided priority group does not exist for this consumer");
    /// <summary>The unpin request's answer to a body without a group (nats-server 2.11 words it as bad JSON).</summary>
    public static readonly ApiError UnpinGroupMissing = new(400, 10025, "invalid JSON: consumer group not specified");
    public static readonly ApiError ConsumerEmptyFilter = new(400, 10139, "consumer filter in FilterSubjects cannot be empty");
    public static readonly ApiError ConsumerMultipleFiltersNotAllowed = new(400, 10137, "consumer with multiple subject filters cannot use subject based API");

    public static ApiError ConsumerMaxAckPendingExcess(long limit) => new(400, 10121, $"consumer max ack pending exceeds system limit of {limit}");
    public static ApiError ConsumerInactiveThresholdExcess(string goDuration) => new(400, 10153, $"consumer inactive threshold exceeds system limit of {goDuration}");
    /// <summary>nats-server's error for a stream it could not make, carrying the reason as its whole description.</summary>
    public static ApiError StreamCreate(string reason) => new(500, 10049, reason);
    public static ApiError AtomicPublishTooLarge(int max) => new(400, 10199, $"atomic publish batch is too large: {max}");
    public static ApiError AtomicPublishUnsupportedHeader(string header) => new(400, 10177, $"atomic publish unsupported header used: {header}");
    public static ApiError WrongLastSequence(ulong last) => new(400, 10071, $"wrong last sequence: {last}");
    public static ApiError WrongLastMsgId(string? id) => new(400, 10070, $"wrong last msg ID: {id}");
    public static ApiError StoreFailed(string reason) => new(503, 10077, reason);
    public static ApiError InvalidConfig(string reason) => new(500, 10052, reason);
    public static ApiError DeleteFailed(string reason) => new(500, 10057, reason);
    public static ApiError SequenceNotFound(ulong sequence) => new(400, 10043, $"sequence {sequence} not found");
}
