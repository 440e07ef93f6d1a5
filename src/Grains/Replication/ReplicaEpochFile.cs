using System.Buffers.Binary;
using Platform.Grains.Storage;

namespace Platform.Grains.Replication;

/// <summary>
/// What a replica has promised, kept beside its log: the highest epoch it has taken on, flushed to disk before the
/// replica answers for it (a replica that restarts must go on refusing the primary it fenced), and the highest
/// sequence it had taken in (its held mark, saved at most a second late): a log that comes back shorter than that was
/// cut, and must not be promoted before it is caught up past it.
/// </summary>
internal static class ReplicaEpochFile
{
    private const string FileName = "replica-epoch";
    private const int EpochOnlyLength = 12;
    private const int Length = 20;

    /// <summary>The epoch and held mark; zeros when there is no file. Throws <see cref="InvalidDataException"/> when it is damaged.</summary>
    public static (long Epoch, ulong Held) Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            return (0, 0);
        var bytes = File.ReadAllBytes(path);
        // Written whole by a rename, so a short or damaged file is not a torn write but damage: trust nothing of it.
        // Files from before the held mark hold the epoch alone.
        int body = bytes.Length - 4;
        if (bytes.Length is not (Length or EpochOnlyLength)
            || Checksum.Crc32C(bytes.AsSpan(0, body)) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(body)))
            throw new InvalidDataException($"{path} is damaged");
        long epoch = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        return (epoch, bytes.Length == Length ? BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8)) : 0);
    }

    public static void Save(string directory, long epoch, ulong held)
    {
        var bytes = new byte[Length];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, epoch);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), held);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), Checksum.Crc32C(bytes.AsSpan(0, 16)));
        AtomicFile.Write(Path.Combine(directory, FileName), file => file.Write(bytes));
    }
}
