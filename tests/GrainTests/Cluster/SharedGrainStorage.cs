using System.Collections.Concurrent;
using Orleans.Storage;

namespace Platform.GrainTests.Cluster;

/// <summary>
/// Grain storage shared by every silo of an in-process cluster and outliving each of them, as the cluster's database
/// does for real silos; writes are conditional on the ETag, as the real store's are.
/// </summary>
/// <remarks>Each silo has its own instance (with its own serializer) over the one <see cref="Records"/>.</remarks>
internal sealed class SharedGrainStorage(SharedGrainStorage.Records records, Orleans.Serialization.Serializer serializer) : IGrainStorage
{
    internal sealed class Records : ConcurrentDictionary<string, (byte[] Data, string ETag)>;

    private readonly Records _records = records;
    private readonly Orleans.Serialization.Serializer _serializer = serializer;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_records.TryGetValue(Key(stateName, grainId), out var record))
        {
            grainState.State = _serializer.Deserialize<T>(record.Data);
            grainState.ETag = record.ETag;
            grainState.RecordExists = true;
        }
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = Key(stateName, grainId);
        var next = (_serializer.SerializeToArray(grainState.State), Guid.NewGuid().ToString("N"));
        lock (_records)
        {
            var current = _records.TryGetValue(key, out var record) ? record.ETag : null;
            if (current != grainState.ETag)
                throw new InconsistentStateException($"ETag {grainState.ETag} is stale", current, grainState.ETag);
            _records[key] = next;
        }
        grainState.ETag = next.Item2;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _records.TryRemove(Key(stateName, grainId), out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    private static string Key(string stateName, GrainId grainId) => stateName + "/" + grainId;
}
