using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>
/// Where streams live on this silo's disk: <c>&lt;store_dir&gt;/jetstream/streams/&lt;name&gt;/</c> holds
/// <c>meta.json</c> (configuration and creation time) and one log directory per partition. The name is written as
/// <see cref="StorePaths"/> escapes it, so no name reaches outside the streams directory; the name itself is read back
/// from meta.json. Memory streams keep no files that outlive the process.
/// </summary>
public sealed class StreamStore
{
    /// <param name="maxLogFiles">Files the open stream logs may hold together; 0: from the process's descriptor limit.</param>
    /// <param name="memoryBudget">The silo's memory_budget in bytes, a quarter of it for the logs' memtables; 0: none (<see cref="MemtableBudget.For"/>).</param>
    public StreamStore(string storeDirectory, SyncSetting? sync = null, StoreLimits? limits = null, int maxLogFiles = 0, long memoryBudget = 0)
    {
        StoreDirectory = Path.GetFullPath(storeDirectory);
        Root = Path.GetFullPath(Path.Combine(storeDirectory, "jetstream", "streams"));
        Directory.CreateDirectory(Root);
        Sync = sync ?? SyncSetting.Default;
        Limits = limits ?? StoreLimits.Unlimited;
        LogBudget = new LogBudget(maxLogFiles, FileDescriptors.SoftLimit());
        Memtables = MemtableBudget.For(memoryBudget);
    }

    /// <summary>Bounds what the open logs keep in memtables together.</summary>
    internal MemtableBudget Memtables { get; }

    /// <summary>Bounds the descriptors the stream logs hold: idle logs close to make room for the ones in use.</summary>
    internal LogBudget LogBudget { get; }

    /// <summary>The server's max_memory_store and max_file_store.</summary>
    public StoreLimits Limits { get; }

    /// <summary>The bytes the streams active on this silo hold, by storage type.</summary>
    public StoreUsage Usage { get; } = new();

    public string Root { get; }

    /// <summary>The store directory the silo was given (-sd); other durable state (Orleans stream checkpoints) lives beside the streams.</summary>
    public string StoreDirectory { get; }

    /// <summary>The logs the stream grains of this silo hold open, for in-silo readers that cannot await a grain call.</summary>
    internal OpenLogs OpenLogs { get; } = new();

    /// <summary>The server's power-loss durability for file streams (nats-server's jetstream sync_interval).</summary>
    public SyncSetting Sync { get; }

    public string StreamDirectory(string name) => StorePaths.Child(Root, name);

    public string PartitionDirectory(string name, int partition) => Path.Combine(StreamDirectory(name), $"p{partition}");

    /// <summary>How a partition's log opens: where, in memory or on disk, and how it syncs.</summary>
    internal MessageLogOptions LogOptions(PlatformStreamConfig config, int partition) => new()
    {
        Directory = PartitionDirectory(config.Name, partition),
        InMemory = config.Storage == StorageType.Memory,
        SyncPolicy = Sync.Always ? LogSyncPolicy.Always : LogSyncPolicy.Interval,
        SyncInterval = Sync.Interval,
        Memtables = Memtables,
    };

    /// <summary>The logs a crash left open, opening while the silo starts.</summary>
    internal LogPreopener Preopener { get; } = new();

    public StreamMeta? LoadMeta(string name) => LoadMetaFrom(StreamDirectory(name));

    private static StreamMeta? LoadMetaFrom(string directory)
    {
        var path = Path.Combine(directory, "meta.json");
        return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), StreamStoreJson.Default.StreamMeta) : null;
    }

    public void SaveMeta(StreamMeta meta)
        => AtomicFile.Write(Path.Combine(StreamDirectory(meta.Config.Name), "meta.json"),
            file => JsonSerializer.Serialize(file, meta, StreamStoreJson.Default.StreamMeta));

    public void DeleteStream(string name)
    {
        var dir = StreamDirectory(name);
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// Counts what the stream's partitions store towards <see cref="Usage"/>, from the state their logs saved when they
    /// last closed; false if a partition has none (it was open when the silo stopped without closing it).
    /// </summary>
    public bool LoadUsage(PlatformStreamConfig config)
    {
        bool known = true;
        for (int p = 0; p < StreamKeys.Count(config); p++)
        {
            // In a cluster, a partition whose home is another node has no directory here and nothing to count.
            var directory = PartitionDirectory(config.Name, p);
            if (!Directory.Exists(directory))
                continue;
            if (StreamLog.LoadState(directory) is { } state)
                Usage.Set(StreamKeys.Partition(config.Name, p), config.Storage, (long)state.Bytes);
            else
                known = false;
        }
        return known;
    }

    public IEnumerable<StreamMeta> LoadAll()
    {
        foreach (var dir in Directory.EnumerateDirectories(Root))
        {
            if (LoadMetaFrom(dir) is { } meta)
                yield return meta;
        }
    }
}

/// <summary>
/// sync_interval: acked means written to the OS and an fsync runs every <see cref="Interval"/> (nats-server's default
/// is 2 minutes), or <see cref="Always"/>: every ack waits for an fsync shared by the publishes of that moment.
/// </summary>
public sealed record SyncSetting(bool Always, TimeSpan Interval)
{
    public static readonly SyncSetting Default = new(false, TimeSpan.FromMinutes(2));
}

/// <summary>
/// nats-server's jetstream max_memory_store and max_file_store, in bytes; -1 is unlimited. Stream max_bytes are
/// reserved against them at create and update, and publishes are refused once the stored bytes exceed them.
/// </summary>
public sealed record StoreLimits(long MaxMemory, long MaxStore)
{
    public static readonly StoreLimits Unlimited = new(-1, -1);

    public long For(StorageType storage) => storage == StorageType.Memory ? MaxMemory : MaxStore;
}

/// <summary>
/// Stored bytes per storage type, summed over the streams this silo hosts. Each stream grain reports its own total
/// after every change, so the check before a publish is a read of one counter rather than a call to every stream.
/// </summary>
public sealed class StoreUsage
{
    private readonly ConcurrentDictionary<string, long> _streams = new(StringComparer.Ordinal);
    private long _memory, _store;

    public long Memory => Interlocked.Read(ref _memory);
    public long Store => Interlocked.Read(ref _store);

    public long For(StorageType storage) => storage == StorageType.Memory ? Memory : Store;

    private long _lastWarning = -10_000;

    /// <summary>True at most once every 10 seconds: refused publishes are logged without flooding the log.</summary>
    public bool ShouldWarn()
    {
        long now = Environment.TickCount64, last = Interlocked.Read(ref _lastWarning);
        return now - last >= 10_000 && Interlocked.CompareExchange(ref _lastWarning, now, last) == last;
    }

    /// <summary>Records that the stream now holds <paramref name="bytes"/> (0 when it is deleted or closed).</summary>
    public void Set(string stream, StorageType storage, long bytes)
    {
        long previous = 0;
        _streams.AddOrUpdate(stream, bytes, (_, old) => { previous = old; return bytes; });
        if (bytes == 0)
            _streams.TryRemove(KeyValuePair.Create(stream, 0L));
        long delta = bytes - previous;
        if (delta != 0)
            Interlocked.Add(ref storage == StorageType.Memory ? ref _memory : ref _store, delta);
    }
}

public sealed record StreamMeta(
    [property: JsonPropertyName("config")] PlatformStreamConfig Config,
    [property: JsonPropertyName("created")] DateTime Created);

[JsonSerializable(typeof(StreamMeta))]
[JsonSerializable(typeof(LogState))]
internal sealed partial class StreamStoreJson : JsonSerializerContext;
