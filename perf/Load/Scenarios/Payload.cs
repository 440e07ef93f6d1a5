using System.Buffers.Binary;

namespace Platform.Load.Scenarios;

/// <summary>
/// Message bodies. A timed body carries its intended send tick in its first 8 bytes so that the receiving side
/// can measure publish-to-receive latency; bodies shorter than that carry no time and yield no latency.
/// </summary>
internal static class Payload
{
    public const int StampBytes = sizeof(long);

    public static bool CanStamp(int size) => size >= StampBytes;

    /// <summary>One shared body for publishers that need no per-message content.</summary>
    public static byte[] Fixed(int size)
    {
        var body = new byte[size];
        Array.Fill(body, (byte)'x');
        return body;
    }

    /// <summary>
    /// A fresh body stamped with <paramref name="intendedTick"/>. Fresh, not reused: a publish may still be queued
    /// inside the client after PublishAsync returns, so a shared buffer could be overwritten before it is sent.
    /// </summary>
    public static byte[] Stamped(int size, long intendedTick)
    {
        var body = Fixed(size);
        if (CanStamp(size))
            BinaryPrimitives.WriteInt64LittleEndian(body, intendedTick);
        return body;
    }

    public static bool TryReadStamp(ReadOnlySpan<byte> body, out long tick)
    {
        if (body.Length < StampBytes)
        {
            tick = 0;
            return false;
        }
        tick = BinaryPrimitives.ReadInt64LittleEndian(body);
        return true;
    }
}
