using System.Buffers.Binary;
using System.Numerics;

namespace Platform.Grains.Storage;

/// <summary>CRC-32C over a span, with the CPU's instruction where there is one: what the journals and checkpoints use to tell a torn or corrupt file.</summary>
internal static class Checksum
{
    public static uint Crc32C(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0;
        int i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(bytes[i..]));
        for (; i < bytes.Length; i++)
            crc = BitOperations.Crc32C(crc, bytes[i]);
        return crc;
    }
}
