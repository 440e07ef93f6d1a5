namespace Platform.Grains.Streams;

/// <summary>
/// A stream's partitions and their grain keys. Partition 0 is keyed by the stream name itself, so an unpartitioned
/// stream is simply its partition 0; partition p of stream S is "S.p" (stream names cannot contain '.').
/// Subjects go to partitions by a 32-bit FNV-1a hash of the subject bytes, so a subject always lands in one place.
/// </summary>
public static class StreamKeys
{
    public static string Partition(string stream, int partition) => partition == 0 ? stream : $"{stream}.{partition}";

    /// <summary>A key whose suffix is not a partition number is a stream name of its own (one no API accepts).</summary>
    public static (string Stream, int Partition) Parse(string key)
    {
        int dot = key.LastIndexOf('.');
        return dot >= 0 && int.TryParse(key.AsSpan(dot + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int partition)
            ? (key[..dot], partition)
            : (key, 0);
    }

    public static int PartitionOf(ReadOnlySpan<byte> subject, int partitions)
    {
        if (partitions <= 1)
            return 0;
        uint hash = 2166136261;
        foreach (var b in subject)
            hash = (hash ^ b) * 16777619;
        return (int)(hash % (uint)partitions);
    }

    public static int PartitionOf(string subject, int partitions)
        => PartitionOf(System.Text.Encoding.UTF8.GetBytes(subject), partitions);

    /// <summary>How many partitions a configuration declares (0 and 1 both mean one).</summary>
    public static int Count(PlatformStreamConfig config) => Math.Max(1, config.Partitions);
}
