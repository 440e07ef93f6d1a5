using System.Buffers.Binary;
using Platform.Grains.Storage;

namespace Platform.Grains.Replication;

/// <summary>
/// The highest epoch a replica has taken on, kept beside its log and flushed to disk before the replica answers for
/// it: a replica that restarts must go on refusing the primary it fenced.
/// </summary>
internal static class ReplicaEpochFile
{
    private const string FileName = "replica-epoch";

    public static long Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            return 0;
        var bytes = File.ReadAllBytes(path);
        // Written whole by a rename, so a short or damaged file is not a torn write but damage: trust nothing of it.
        if (bytes.Length != 12 || Checksum.Crc32C(bytes.AsSpan(0, 8)) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)))
            throw new InvalidDataException($"{path} is damaged");
        return BinaryPrimitives.ReadInt64LittleEndian(bytes);
    }

    public static void Save(string directory, long epoch)
    {
        var bytes = new byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, epoch);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), Checksum.Crc32C(bytes.AsSpan(0, 8)));
        AtomicFile.Write(Path.Combine(directory, FileName), file => file.Write(bytes));
    }
}
