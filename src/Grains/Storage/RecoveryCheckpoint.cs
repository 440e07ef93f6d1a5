using System.Buffers.Binary;
using System.Text;

namespace Platform.Grains.Storage;

/// <summary>
/// The derived state of a log (counts, bytes, first/last, timestamps, deleted sequences, subject index) as it was
/// when its last sequence was <see cref="Covered"/> and it had journaled <see cref="Removals"/> removals, saved
/// beside the log so that opening it after a crash reads this, the <see cref="RemovalJournal"/> entries after it and
/// the messages after <see cref="Covered"/>, instead of every message.
/// </summary>
/// <remarks>
/// Written whole to a temporary file and renamed (<see cref="AtomicFile"/>), ending in a CRC-32C of everything before
/// it: a torn, truncated or foreign file is rejected and the log is scanned in full, as it was before checkpoints.
/// </remarks>
internal sealed class RecoveryCheckpoint
{
    public const string FileName = "recovery.checkpoint";

    private const uint Magic = 0x4B43_4C4E; // "NLCK"
    private const byte Version = 1;

    public required ulong Covered { get; init; }
    public required ulong Removals { get; init; }
    public required ulong First { get; init; }
    public required ulong LastLive { get; init; }
    public required ulong Messages { get; init; }
    public required ulong Bytes { get; init; }
    public required long FirstTimestampNanos { get; init; }
    public required long LastTimestampNanos { get; init; }
    public required ulong[] Deleted { get; init; }
    public required SubjectEntry[] Subjects { get; init; }

    public readonly record struct SubjectEntry(string Subject, ulong Count, ulong First, ulong Last, bool FirstStale, bool LastStale);

    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    public void Write(string path) => AtomicFile.Write(path, file => file.Write(Encode()));

    /// <summary>The checkpoint in <paramref name="path"/>, or null when there is none or it is not intact.</summary>
    public static RecoveryCheckpoint? TryRead(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        return TryDecode(bytes);
    }

    public byte[] Encode()
    {
        using var stream = new MemoryStream(128 + Deleted.Length * 8 + Subjects.Length * 48);
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(Covered);
            writer.Write(Removals);
            writer.Write(First);
            writer.Write(LastLive);
            writer.Write(Messages);
            writer.Write(Bytes);
            writer.Write(FirstTimestampNanos);
            writer.Write(LastTimestampNanos);
            writer.Write(Deleted.Length);
            foreach (var sequence in Deleted)
                writer.Write(sequence);
            writer.Write(Subjects.Length);
            Span<byte> subject = stackalloc byte[RecordCodec.MaxSubjectLength];
            foreach (var entry in Subjects)
            {
                int length = Encoding.UTF8.GetBytes(entry.Subject, subject);
                writer.Write((ushort)length);
                writer.Write(subject[..length]);
                writer.Write(entry.Count);
                writer.Write(entry.First);
                writer.Write(entry.Last);
                writer.Write((byte)((entry.FirstStale ? 1 : 0) | (entry.LastStale ? 2 : 0)));
            }
        }
        var body = stream.GetBuffer().AsSpan(0, (int)stream.Length);
        var bytes = new byte[body.Length + 4];
        body.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(body.Length), Checksum.Crc32C(body));
        return bytes;
    }

    public static RecoveryCheckpoint? TryDecode(byte[] bytes)
    {
        if (bytes.Length < 4)
            return null;
        var body = bytes.AsSpan(0, bytes.Length - 4);
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(body.Length)) != Checksum.Crc32C(body))
            return null;
        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes, 0, body.Length, writable: false), Encoding.UTF8);
            if (reader.ReadUInt32() != Magic || reader.ReadByte() != Version)
                return null;
            ulong covered = reader.ReadUInt64(), removals = reader.ReadUInt64(), first = reader.ReadUInt64(),
                lastLive = reader.ReadUInt64(), messages = reader.ReadUInt64(), size = reader.ReadUInt64();
            long firstTimestamp = reader.ReadInt64(), lastTimestamp = reader.ReadInt64();
            int deletedCount = reader.ReadInt32();
            if (deletedCount < 0 || deletedCount > body.Length / 8)
                return null;
            var deleted = new ulong[deletedCount];
            for (int i = 0; i < deleted.Length; i++)
                deleted[i] = reader.ReadUInt64();
            int subjectCount = reader.ReadInt32();
            if (subjectCount < 0 || subjectCount > body.Length / 27)
                return null;
            var subjects = new SubjectEntry[subjectCount];
            for (int i = 0; i < subjects.Length; i++)
            {
                int length = reader.ReadUInt16();
                var subject = Encoding.UTF8.GetString(reader.ReadBytes(length));
                ulong count = reader.ReadUInt64(), subjectFirst = reader.ReadUInt64(), subjectLast = reader.ReadUInt64();
                byte flags = reader.ReadByte();
                subjects[i] = new SubjectEntry(subject, count, subjectFirst, subjectLast, (flags & 1) != 0, (flags & 2) != 0);
            }
            if (reader.BaseStream.Position != body.Length)
                return null;
            return new RecoveryCheckpoint
            {
                Covered = covered,
                Removals = removals,
                First = first,
                LastLive = lastLive,
                Messages = messages,
                Bytes = size,
                FirstTimestampNanos = firstTimestamp,
                LastTimestampNanos = lastTimestamp,
                Deleted = deleted,
                Subjects = subjects,
            };
        }
        catch (EndOfStreamException)
        {
            return null;
        }
    }
}
