using System.Buffers.Binary;

namespace Platform.Load.Scenarios;

/// <summary>
/// Where message bodies come from. Each message gets its own stretch of a shared 16 MiB block of seeded random
/// bytes, so no two bodies within 16 MiB of traffic are alike. A constant body would flatter a store that
/// compresses: the silo wrote 3.6 MB of files for 85 MB of identical 128-byte bodies, while nats-server stores
/// bytes as they come. Seeded, so every run and every server sees the same bytes.
/// A timed body also carries its intended send tick in its first 8 bytes, so the receiving side can measure
/// publish-to-receive latency; bodies shorter than that carry no time and yield no latency.
/// </summary>
internal sealed class PayloadSource
{
    private const int PoolBytes = 16 << 20;
    private static readonly Lazy<byte[]> SharedPool = new(() =>
    {
        var pool = new byte[PoolBytes];
        new Random(20261126).NextBytes(pool);
        return pool;
    });

    private readonly byte[] _pool;
    private readonly int _size;
    private readonly bool _stamp;
    private long _next;

    /// <param name="size">Body size; bodies larger than the pool repeat it.</param>
    /// <param name="stamp">Whether bodies carry their send tick (a fresh copy each, see <see cref="Next"/>).</param>
    /// <param name="client">Publisher index: each publisher starts at a different place in the pool.</param>
    public PayloadSource(int size, bool stamp, int client = 0)
    {
        _size = size;
        _stamp = stamp && Payload.CanStamp(size);
        _pool = size <= PoolBytes / 2 ? SharedPool.Value : Enlarged(size);
        _next = client * 7919L;
    }

    /// <summary>
    /// The next body. Unstamped bodies are slices of the pool, which nobody writes, so the client may keep them
    /// queued after PublishAsync returns. A stamped body is a fresh copy for the same reason.
    /// </summary>
    public ReadOnlyMemory<byte> Next(long intendedTick)
    {
        if (_size == 0)
            return ReadOnlyMemory<byte>.Empty;
        var offset = (int)(_next++ * _size % (_pool.Length - _size + 1));
        var slice = _pool.AsMemory(offset, _size);
        if (!_stamp)
            return slice;
        var body = slice.ToArray();
        BinaryPrimitives.WriteInt64LittleEndian(body, intendedTick);
        return body;
    }

    private static byte[] Enlarged(int size)
    {
        var pool = new byte[size * 2L > int.MaxValue ? size : size * 2];
        new Random(20261126).NextBytes(pool);
        return pool;
    }
}

/// <summary>Reading the send tick back out of a timed body.</summary>
internal static class Payload
{
    public const int StampBytes = sizeof(long);

    public static bool CanStamp(int size) => size >= StampBytes;

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
