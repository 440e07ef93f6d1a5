using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace Platform.Grains.Storage;

/// <summary>
/// Orleans grain storage in files under a silo's store directory, for a silo alone: what Orleans streams keep of
/// explicit subscriptions survives a restart as the streams themselves do. One file per grain and state name (the
/// name escaped by <see cref="StorePaths"/>), replaced whole (<see cref="AtomicFile"/>), holding a version and the
/// state; a write must name the version it read, as with any Orleans storage.
/// </summary>
internal sealed class FileGrainStorage(string directory, Serializer serializer) : IGrainStorage
{
    private const int VersionBytes = sizeof(long);
    private readonly Lock _lock = new();

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        lock (_lock)
        {
            if (!File.Exists(path))
            {
                grainState.ETag = null;
                grainState.RecordExists = false;
                return Task.CompletedTask;
            }
            var bytes = File.ReadAllBytes(path);
            grainState.ETag = BinaryPrimitives.ReadInt64LittleEndian(bytes).ToString(CultureInfo.InvariantCulture);
            grainState.State = serializer.Deserialize<T>(bytes.AsMemory(VersionBytes));
            grainState.RecordExists = true;
        }
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        var state = serializer.SerializeToArray(grainState.State);
        lock (_lock)
        {
            long version = CheckVersion(path, stateName, grainId, grainState.ETag) + 1;
            AtomicFile.Write(path, file =>
            {
                Span<byte> header = stackalloc byte[VersionBytes];
                BinaryPrimitives.WriteInt64LittleEndian(header, version);
                file.Write(header);
                file.Write(state);
            });
            grainState.ETag = version.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        lock (_lock)
        {
            CheckVersion(path, stateName, grainId, grainState.ETag);
            File.Delete(path);
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
        return Task.CompletedTask;
    }

    /// <summary>The version stored now (0: none), which must be the one the caller read.</summary>
    private static long CheckVersion(string path, string stateName, GrainId grainId, string? etag)
    {
        long stored = 0;
        if (File.Exists(path))
        {
            Span<byte> header = stackalloc byte[VersionBytes];
            using var file = File.OpenRead(path);
            file.ReadExactly(header);
            stored = BinaryPrimitives.ReadInt64LittleEndian(header);
        }
        long expected = etag is null ? 0 : long.Parse(etag, CultureInfo.InvariantCulture);
        if (stored != expected)
            throw new InconsistentStateException($"State {stateName} of {grainId} was written by someone else since it was read",
                stored.ToString(CultureInfo.InvariantCulture), etag ?? "none");
        return stored;
    }

    private string PathOf(string stateName, GrainId grainId) => StorePaths.Child(directory, stateName + "/" + grainId);
}

public static class FileGrainStorageHosting
{
    /// <summary>Grain storage <paramref name="name"/> in files under <paramref name="directory"/> (a silo alone).</summary>
    public static ISiloBuilder AddFileGrainStorage(this ISiloBuilder silo, string name, string directory)
    {
        silo.Services.AddKeyedSingleton<IGrainStorage>(name, (sp, _) => Create(directory, sp));
        return silo;
    }

    internal static IGrainStorage Create(string directory, IServiceProvider services) => new FileGrainStorage(directory, services.GetRequiredService<Serializer>());
}
