using System.Text;
using Platform.Grains.Storage;

namespace Platform.Grains.Consumers;

/// <summary>
/// A delivered message's size as nats-server counts it against a pull request's max_bytes: subject, ack reply
/// (<c>$JS.ACK.stream.consumer.deliveries.sseq.cseq.time.pending</c>), headers and payload. The gateway counts what it
/// writes the same way; the pending count is estimated here (it is only known once the batch is taken), which can
/// only move a boundary by a digit.
/// </summary>
internal sealed class PullSize(string stream, string consumer)
{
    private readonly int _ackPrefix = "$JS.ACK.".Length + Encoding.UTF8.GetByteCount(stream) + 1 + Encoding.UTF8.GetByteCount(consumer) + 1;

    public long Of(ReadOnlySpan<byte> record, int deliveries, ulong streamSeq, ulong consumerSeq, ulong pending)
        => RecordCodec.ContentLength(record) + _ackPrefix
           + Digits((ulong)deliveries) + Digits(streamSeq) + Digits(consumerSeq) + Digits((ulong)RecordCodec.GetTimestampNanos(record)) + Digits(pending) + 4;

    /// <summary>The fewest bytes any message takes, to bound how many a request for <c>maxBytes</c> could take.</summary>
    public int Least => _ackPrefix + 9;

    private static int Digits(ulong value)
    {
        int n = 1;
        while (value >= 10)
        {
            value /= 10;
            n++;
        }
        return n;
    }
}
