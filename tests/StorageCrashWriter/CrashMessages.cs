using System.Buffers.Binary;
using System.Text;

namespace Platform.StorageCrashWriter;

/// <summary>
/// What the crash writer stores for each sequence, derived from the sequence alone so that the test that kills the
/// writer can check every surviving record without being told what was written. Compiled into both projects.
/// </summary>
internal static class CrashMessages
{
    public static byte[] Subject(ulong sequence) => Encoding.ASCII.GetBytes($"crash.s{sequence % 7}");

    public static byte[] SubjectFor(string subject) => Encoding.UTF8.GetBytes(subject);

    public static byte[] Headers(ulong sequence) =>
        sequence % 3 == 0 ? Encoding.ASCII.GetBytes($"NATS/1.0\r\nSeq: {sequence}\r\n\r\n") : [];

    public static byte[] Payload(ulong sequence)
    {
        var payload = new byte[8 + (int)(sequence % 97)];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, sequence);
        for (int i = 8; i < payload.Length; i++)
            payload[i] = (byte)(sequence * 31 + (ulong)i);
        return payload;
    }

    public static long Timestamp(ulong sequence) => 1_700_000_000_000_000_000L + (long)sequence;
}
