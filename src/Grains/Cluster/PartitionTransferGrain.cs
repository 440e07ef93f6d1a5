using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Platform.Grains.Streams;

namespace Platform.Grains.Cluster;

[SiloPinnedPlacement, Reentrant]
internal sealed class PartitionTransferGrain(StreamStore store, ILogger<PartitionTransferGrain> logger) : Grain, IPartitionTransferGrain
{
    private const int ChunkBytes = 1 << 20;
    private const string Meta = "meta.json";
    private const string Consumers = "consumers";

    public Task<string[]> Files(string stream, int partition)
    {
        var root = store.StreamDirectory(stream);
        var files = new List<string>();
        foreach (var directory in Owned(stream, partition))
        {
            if (Directory.Exists(directory))
                foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
                    files.Add(Path.GetRelativePath(root, file));
        }
        if (File.Exists(Path.Combine(root, Meta)))
            files.Add(Meta);
        return Task.FromResult(files.ToArray());
    }

    public async Task<Immutable<byte[]>> Read(string stream, string file, long offset, int max)
    {
        await using var input = new FileStream(PathOf(stream, file), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        input.Position = offset;
        var buffer = new byte[(int)Math.Min(max, Math.Max(0, input.Length - offset))];
        await input.ReadExactlyAsync(buffer);
        return buffer.AsImmutable();
    }

    public async Task<long> CopyFrom(string source, string stream, int partition)
    {
        var from = GrainFactory.GetGrain<IPartitionTransferGrain>(source);
        await Remove(stream, partition);
        long total = 0;
        foreach (var file in await from.Files(stream, partition))
        {
            var path = PathOf(stream, file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await using var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
            while (true)
            {
                var chunk = (await from.Read(stream, file, output.Position, ChunkBytes)).Value;
                await output.WriteAsync(chunk);
                total += chunk.Length;
                if (chunk.Length < ChunkBytes)
                    break;
            }
            // The catalog names this copy as the data once the call returns: it must survive a crash of this silo.
            output.Flush(flushToDisk: true);
        }
        logger.LogInformation("Copied stream {Stream} partition {Partition} from {Source}: {Bytes} bytes", stream, partition, source, total);
        return total;
    }

    public Task Remove(string stream, int partition)
    {
        foreach (var directory in Owned(stream, partition))
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        // The stream's directory goes with its last partition here (the metadata stays for the others).
        var root = store.StreamDirectory(stream);
        if (Directory.Exists(root) && !Directory.EnumerateDirectories(root).Any())
            Directory.Delete(root, recursive: true);
        return Task.CompletedTask;
    }

    public async Task<string?> PutAside(string stream)
    {
        var directory = store.StreamDirectory(stream);
        if (!Directory.Exists(directory))
            return null;
        // A log a crash left open may have been opened at start: it is closed before its files move. Only replicated
        // streams leave copies behind, and they have one partition.
        if (store.Preopener.Take(store.PartitionDirectory(stream, 0)) is { } preopened)
        {
            try
            {
                await (await preopened).DisposeAsync();
            }
            catch (Exception ex)
            {
                logger.LogWarning("The log left under stream {Stream}'s name did not open: {Reason}", stream, ex.Message);
            }
        }
        var orphans = store.Root + ".orphaned";
        Directory.CreateDirectory(orphans);
        var aside = Path.Combine(orphans, $"{Path.GetFileName(directory)}-{DateTime.UtcNow:yyyyMMddHHmmssfff}");
        Directory.Move(directory, aside);
        logger.LogWarning("A new stream {Stream} is made here: the files this store held under its name were put aside as {Aside}", stream, aside);
        return aside;
    }

    /// <summary>The directories that belong to one partition: its log, and for partition 0 the stream's consumers.</summary>
    private IEnumerable<string> Owned(string stream, int partition)
    {
        yield return store.PartitionDirectory(stream, partition);
        if (partition == 0)
            yield return Path.Combine(store.StreamDirectory(stream), Consumers);
    }

    /// <summary>A file under the stream's directory; a relative path that would leave it is refused.</summary>
    private string PathOf(string stream, string file)
    {
        var root = Path.GetFullPath(store.StreamDirectory(stream));
        var path = Path.GetFullPath(Path.Combine(root, file));
        if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"{file} is not a file of stream {stream}");
        return path;
    }
}
