using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Grains.Storage;
using Platform.Grains.Streams;

namespace Platform.Grains.Consumers;

/// <summary>
/// A durable consumer's configuration and delivery state in <c>&lt;stream dir&gt;/consumers/&lt;name&gt;/state.json</c>,
/// written atomically, with the name escaped by <see cref="StorePaths"/> and read back from the file. The state may lag
/// the truth by one save interval; it never runs ahead of it, so a crash can only cause redelivery, never a skipped
/// message. What happened since is in the <see cref="ConsumerJournal"/> beside it.
/// </summary>
internal static class ConsumerStore
{
    public static string Directory(StreamStore store, string stream, string consumer)
        => StorePaths.Child(Path.Combine(store.StreamDirectory(stream), "consumers"), consumer);

    public static IEnumerable<ConsumerSnapshot> LoadAll(StreamStore store, string stream)
    {
        var root = Path.Combine(store.StreamDirectory(stream), "consumers");
        if (!System.IO.Directory.Exists(root))
            yield break;
        foreach (var dir in System.IO.Directory.EnumerateDirectories(root))
        {
            if (LoadFrom(dir) is { } snapshot)
                yield return snapshot;
        }
    }

    /// <summary>The consumers stored for the stream, read from their state files (directory names are escaped).</summary>
    public static IEnumerable<string> Names(StreamStore store, string stream)
    {
        foreach (var snapshot in LoadAll(store, stream))
            yield return snapshot.Config.Name!;
    }

    public static ConsumerSnapshot? Load(StreamStore store, string stream, string consumer) => LoadFrom(Directory(store, stream, consumer));

    private static ConsumerSnapshot? LoadFrom(string directory)
    {
        var path = Path.Combine(directory, "state.json");
        return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), ConsumerStoreJson.Default.ConsumerSnapshot) : null;
    }

    /// <summary>Writes the snapshot and returns the file's bytes, which a replicated stream's replicas store as they are.</summary>
    public static byte[] Save(StreamStore store, string stream, ConsumerSnapshot snapshot)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(snapshot, ConsumerStoreJson.Default.ConsumerSnapshot);
        SaveEncoded(store, stream, snapshot.Config.Name!, bytes);
        return bytes;
    }

    /// <summary>Writes a state file whose bytes <see cref="Save"/> made (on a replica, the primary's).</summary>
    public static void SaveEncoded(StreamStore store, string stream, string consumer, byte[] bytes)
        => AtomicFile.Write(Path.Combine(Directory(store, stream, consumer), "state.json"), file => file.Write(bytes));

    public static void Delete(StreamStore store, string stream, string consumer)
    {
        var dir = Directory(store, stream, consumer);
        if (System.IO.Directory.Exists(dir))
            System.IO.Directory.Delete(dir, recursive: true);
    }
}

internal sealed record ConsumerSnapshot(
    [property: JsonPropertyName("config")] PlatformConsumerConfig Config,
    [property: JsonPropertyName("created")] DateTime Created,
    [property: JsonPropertyName("cursor")] ulong Cursor,
    [property: JsonPropertyName("delivered_consumer_seq")] ulong DeliveredConsumerSeq,
    [property: JsonPropertyName("delivered_stream_seq")] ulong DeliveredStreamSeq,
    [property: JsonPropertyName("ack_floor_consumer_seq")] ulong AckFloorConsumerSeq,
    [property: JsonPropertyName("ack_floor_stream_seq")] ulong AckFloorStreamSeq,
    [property: JsonPropertyName("pending")] PendingSnapshot[] Pending,
    [property: JsonPropertyName("initial")] ulong[] Initial,
    [property: JsonPropertyName("report_acks")] bool ReportAcks,
    [property: JsonPropertyName("journal_generation")] ulong JournalGeneration = 0);

internal sealed record PendingSnapshot(
    [property: JsonPropertyName("sseq")] ulong StreamSeq,
    [property: JsonPropertyName("cseq")] ulong ConsumerSeq,
    [property: JsonPropertyName("deliveries")] int Deliveries,
    [property: JsonPropertyName("deadline")] long DeadlineUnixMs = 0);

[JsonSerializable(typeof(ConsumerSnapshot))]
internal sealed partial class ConsumerStoreJson : JsonSerializerContext;
