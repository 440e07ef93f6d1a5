using Platform.Grains.Subjects;

namespace Platform.Grains.Streams;

/// <summary>
/// Knows every stream by name and keeps their subjects disjoint. Rebuilt at activation from the metadata the stream
/// grains persist, so a restart brings every file stream back; memory streams are known only while the silo runs.
/// </summary>
[CollectionAgeLimit(AlwaysActive = true)]
internal sealed class StreamCatalogGrain(StreamStore store, CatalogChanges changes) : Grain, IStreamCatalogGrain
{
    private const int MaxPartitions = 64;

    private readonly SortedDictionary<string, StreamConfig> _streams = new(StringComparer.Ordinal);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var meta in store.LoadAll())
            _streams[meta.Config.Name] = meta.Config;
        return Task.CompletedTask;
    }

    public async Task<StreamResult<StreamInfo>> Create(StreamConfig config)
    {
        // Orleans clients may send a bare config; defaults are idempotent, so apply them here as well as at the API.
        config = config.WithDefaults();
        if (Validate(config) is { } invalid)
            return StreamResult<StreamInfo>.Fail(invalid);
        bool exists = _streams.TryGetValue(config.Name, out var existing);
        if (exists && !existing!.SameAs(config))
            return StreamResult<StreamInfo>.Fail(ApiError.StreamNameExists);
        // nats-server counts a stream without max_bytes as one byte here, so a fully reserved server takes no more.
        if (!exists && Exceeds(config.Storage, Math.Max(config.MaxBytes, 1), except: null))
            return StreamResult<StreamInfo>.Fail(NoRoom(config.Storage));
        if (Overlapping(config) is not null)
            return StreamResult<StreamInfo>.Fail(ApiError.SubjectsOverlap);
        var result = await GrainFactory.GetGrain<IStreamGrain>(config.Name).Create(config);
        if (result.Error is not null)
            return result;
        for (int p = 1; p < StreamKeys.Count(config); p++)
        {
            var partition = await GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(config.Name, p)).Create(config);
            if (partition.Error is not null)
            {
                // A partition the silo had no room for: the stream is refused whole, not left half made.
                for (int made = p - 1; made >= 0; made--)
                    await GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(config.Name, made)).Delete();
                return partition;
            }
        }
        _streams[config.Name] = config;
        changes.OnSet(config);
        return result;
    }

    public async Task<StreamResult<StreamInfo>> Update(StreamConfig config)
    {
        // Sealing fixes what could still change the stored messages, as nats-server does.
        config = config.WithDefaults();
        if (config.Sealed)
            config = config with { MaxAge = 0, Discard = DiscardPolicy.New, DenyDelete = true, DenyPurge = true, AllowRollupHeaders = false };
        if (!_streams.ContainsKey(config.Name))
            return StreamResult<StreamInfo>.Fail(ApiError.StreamNotFound);
        if (Validate(config) is { } invalid)
            return StreamResult<StreamInfo>.Fail(invalid);
        // An update reserves its new max_bytes in place of the old; dropping max_bytes, or lowering it, always fits.
        if (config.MaxBytes > 0 && _streams[config.Name].Storage == config.Storage && Exceeds(config.Storage, config.MaxBytes, except: config.Name))
            return StreamResult<StreamInfo>.Fail(NoRoom(config.Storage));
        if (Overlapping(config) is not null)
            return StreamResult<StreamInfo>.Fail(ApiError.SubjectsOverlap);
        var result = await GrainFactory.GetGrain<IStreamGrain>(config.Name).Update(config);
        if (result.Error is not null)
            return result;
        for (int p = 1; p < StreamKeys.Count(config); p++)
            await GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(config.Name, p)).Update(config);
        _streams[config.Name] = config;
        changes.OnSet(config);
        return result;
    }

    public async Task<bool> Delete(string name)
    {
        if (!_streams.Remove(name, out var config))
            return false;
        // Publishes stop being captured before the stream's grains go.
        changes.OnRemoved(name);
        // The other partitions first: partition 0 removes the stream's directory last.
        for (int p = 1; p < StreamKeys.Count(config); p++)
            await GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(name, p)).Delete();
        await GrainFactory.GetGrain<IStreamGrain>(name).Delete();
        return true;
    }

    public Task<StreamConfig[]> List() => Task.FromResult(_streams.Values.ToArray());

    private static ApiError? Validate(StreamConfig config)
    {
        if (NameRules.CheckStream(config.Name) is { } badName)
            return badName;
        if (config.NumReplicas < 0)
            return new ApiError(400, 10133, "replicas count cannot be negative");
        if (config.NumReplicas > 1)
            return ApiError.ReplicasNotSupported;
        if (config.DuplicateWindow < 0)
            return ApiError.InvalidConfig("duplicates window can not be negative");
        if (config.Partitions is < 0 or > MaxPartitions)
            return ApiError.InvalidConfig($"stream partitions must be between 1 and {MaxPartitions}");
        // Interest and workqueue retention count acks against the stream's consumer list, which partition 0 keeps.
        if (config.Partitions > 1 && config.Retention != RetentionPolicy.Limits)
            return ApiError.InvalidConfig("partitioned streams support limits retention only");
        return StreamSubjectRules.Check(config);
    }

    /// <summary>
    /// Whether reserving <paramref name="bytes"/> more would take the streams' reservations (their max_bytes) past the
    /// server's limit for that storage, leaving out the reservation of <paramref name="except"/>, the stream being
    /// updated. Reservations, not stored bytes: a stream is promised its max_bytes whatever it holds today.
    /// </summary>
    private bool Exceeds(StorageType storage, long bytes, string? except)
    {
        long limit = store.Limits.For(storage);
        if (limit < 0)
            return false;
        long reserved = 0;
        foreach (var (name, other) in _streams)
            if (other.Storage == storage && other.MaxBytes > 0 && name != except)
                reserved += other.MaxBytes;
        return reserved + bytes > limit;
    }

    private static ApiError NoRoom(StorageType storage)
        => storage == StorageType.Memory ? ApiError.MemoryResourcesExceeded : ApiError.StorageResourcesExceeded;

    private string? Overlapping(StreamConfig config)
    {
        foreach (var (name, other) in _streams)
        {
            if (name == config.Name)
                continue;
            foreach (var mine in config.Subjects)
                foreach (var theirs in other.Subjects)
                    if (SubjectMatch.Overlaps(mine, theirs))
                        return name;
        }
        return null;
    }
}
