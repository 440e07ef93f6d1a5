using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>
/// Where streams live on this silo's disk: <c>&lt;store_dir&gt;/jetstream/streams/&lt;name&gt;/</c> holds
/// <c>meta.json</c> (configuration and creation time) and one log directory per partition. Memory streams keep no
/// files that outlive the process.
/// </summary>
public sealed class StreamStore
{
    public StreamStore(string storeDirectory, SyncSetting? sync = null)
    {
        StoreDirectory = Path.GetFullPath(storeDirectory);
        Root = Path.GetFullPath(Path.Combine(storeDirectory, "jetstream", "streams"));
        Directory.CreateDirectory(Root);
        Sync = sync ?? SyncSetting.Default;
    }

    public string Root { get; }

    /// <summary>The store directory the silo was given (-sd); other durable state (Orleans stream checkpoints) lives beside the streams.</summary>
    public string StoreDirectory { get; }

    /// <summary>The logs the stream grains of this silo hold open, for in-silo readers that cannot await a grain call.</summary>
    internal OpenLogs OpenLogs { get; } = new();

    /// <summary>The server's power-loss durability for file streams (nats-server's jetstream sync_interval).</summary>
    public SyncSetting Sync { get; }

    public string StreamDirectory(string name) => Path.Combine(Root, name);

    public string PartitionDirectory(string name, int partition) => Path.Combine(StreamDirectory(name), $"p{partition}");

    public StreamMeta? LoadMeta(string name)
    {
        var path = Path.Combine(StreamDirectory(name), "meta.json");
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

    public IEnumerable<StreamMeta> LoadAll()
    {
        foreach (var dir in Directory.EnumerateDirectories(Root))
        {
            if (LoadMeta(Path.GetFileName(dir)) is { } meta)
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

public sealed record StreamMeta(
    [property: JsonPropertyName("config")] StreamConfig Config,
    [property: JsonPropertyName("created")] DateTime Created);

[JsonSerializable(typeof(StreamMeta))]
internal sealed partial class StreamStoreJson : JsonSerializerContext;
