using System.Buffers.Binary;

namespace Platform.Grains.Storage;

/// <summary>
/// The part of a log's state that its records cannot tell: the first-sequence floor (retention, purge, first_seq),
/// the last sequence (which must not go backwards when the newest messages are deleted or purged), and how many
/// removals the log has journaled (<see cref="RemovalJournal"/>), so that recovery can tell a complete journal from
/// one whose entries were lost.
/// </summary>
/// <remarks>
/// Stored in the tree itself under <see cref="Key"/>, which no message uses since sequences start at 1. That puts it
/// in the same ordered write-ahead log as the messages: a crash recovers a prefix of both together, a group commit
/// covers it like any message, and it needs no separate file, fsync or rename.
/// </remarks>
internal readonly record struct LogMetadata(ulong Floor, ulong Last, ulong Removals = 0)
{
    public const ulong Key = 0;

    private const byte Version1 = 1;
    private const int Version1Length = 17;
    private const byte Version = 2;
    private const int Length = 25;

    public byte[] Encode()
    {
        var bytes = new byte[Length];
        bytes[0] = Version;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(1), Floor);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(9), Last);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(17), Removals);
        return bytes;
    }

    public static LogMetadata Decode(ReadOnlySpan<byte> bytes)
    {
        // Logs written before the removal journal existed journaled nothing.
        if (bytes.Length == Version1Length && bytes[0] == Version1)
            return new LogMetadata(BinaryPrimitives.ReadUInt64LittleEndian(bytes[1..]), BinaryPrimitives.ReadUInt64LittleEndian(bytes[9..]));
        if (bytes.Length != Length || bytes[0] != Version)
            throw new InvalidDataException("The message log's metadata record is not in a known format.");
        return new LogMetadata(
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[1..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[9..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[17..]));
    }
}
