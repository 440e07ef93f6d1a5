using System.Buffers.Binary;

namespace Platform.Grains.Storage;

/// <summary>
/// The record that brackets an atomic batch in a log's tree: written before the batch's first message with the
/// sequences the batch takes, and deleted after its last. Found on open, it means the process died inside the batch.
/// </summary>
/// <remarks>
/// Its key is the last one below the removal journal's (<see cref="RemovalJournal.KeyBase"/>), beyond any sequence a
/// stream reaches, so readers, which stop at the last sequence, never meet it.
/// </remarks>
internal static class AtomicAppendMarker
{
    public const ulong Key = RemovalJournal.KeyBase - 1;

    public static byte[] Encode(ulong first, ulong last)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, first);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), last);
        return bytes;
    }

    public static (ulong First, ulong Last) Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != 16)
            throw new InvalidDataException("The message log's atomic batch marker is not in a known format.");
        return (BinaryPrimitives.ReadUInt64LittleEndian(bytes), BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]));
    }
}
