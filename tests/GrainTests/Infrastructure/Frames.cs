using System.Buffers;
using Orleans.Concurrency;
using System.Text;
using Platform.Grains.Streams;

namespace Platform.GrainTests.Infrastructure;

/// <summary>Builds a publish batch the way the gateway does: every message framed by <see cref="PublishFrames"/> into one buffer.</summary>
internal sealed class FrameBatch
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    public int Count { get; private set; }

    public FrameBatch Add(string subject, string payload, params (string Name, string Value)[] headers)
        => Add(subject, Encoding.UTF8.GetBytes(payload), headers.Length == 0 ? [] : Encoding.UTF8.GetBytes(HeaderBlock(headers)));

    public FrameBatch Add(string subject, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> headerBlock)
    {
        var subjectBytes = Encoding.UTF8.GetBytes(subject);
        int size = PublishFrames.FrameSize(subjectBytes.Length, headerBlock.Length, payload.Length);
        var frame = _buffer.GetSpan(size)[..size];
        PublishFrames.WriteHeader(frame, subjectBytes.Length, headerBlock.Length, payload.Length);
        var rest = frame[PublishFrames.FrameHeaderSize..];
        subjectBytes.CopyTo(rest);
        headerBlock.CopyTo(rest[subjectBytes.Length..]);
        payload.CopyTo(rest[(subjectBytes.Length + headerBlock.Length)..]);
        _buffer.Advance(size);
        Count++;
        return this;
    }

    /// <summary>
    /// Sends the batch in a buffer longer than the frames, as the gateway's pooled buffers are, so the grain must
    /// honour the length it is given.
    /// </summary>
    public async Task<PublishAck[]> AppendTo(IStreamGrain stream) => (await stream.Append(Buffer(), _buffer.WrittenCount, Count)).Value;

    /// <summary>The same by <see cref="IStreamGrain.AppendPipelined"/>, as the gateway sends to a replicated stream or another silo.</summary>
    public async Task<PublishAck[]> AppendPipelinedTo(IStreamGrain stream, BatchOrder order = default)
        => (await stream.AppendPipelined(Buffer(), _buffer.WrittenCount, Count, order)).Value;

    /// <summary>The batch as a primary sends it to a replica: stored at the sequences after <paramref name="previousLast"/>.</summary>
    public Platform.Grains.Replication.ReplicaBatch ToReplicaBatch(long epoch, ulong previousLast)
    {
        var sequences = new ulong[Count];
        var timestamps = new long[Count];
        for (int i = 0; i < Count; i++)
        {
            sequences[i] = previousLast + 1 + (ulong)i;
            timestamps[i] = DateTime.UtcNow.Ticks * 100;
        }
        var frames = Buffer().Value;
        return new(epoch, previousLast, 1, previousLast + (ulong)Count, frames, _buffer.WrittenCount, Count, sequences, timestamps);
    }

    private Immutable<byte[]> Buffer()
    {
        var buffer = new byte[_buffer.WrittenCount + 64];
        _buffer.WrittenSpan.CopyTo(buffer);
        buffer.AsSpan(_buffer.WrittenCount).Fill(0xFF);
        return buffer.AsImmutable();
    }

    /// <summary>A NATS/1.0 header block as HPUB carries it, blank line included.</summary>
    public static string HeaderBlock(params (string Name, string Value)[] headers)
    {
        var block = new StringBuilder("NATS/1.0\r\n");
        foreach (var (name, value) in headers)
            block.Append(name).Append(": ").Append(value).Append("\r\n");
        return block.Append("\r\n").ToString();
    }
}
