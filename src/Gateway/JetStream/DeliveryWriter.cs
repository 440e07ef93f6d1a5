using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;
using Platform.Grains.Consumers;
using Platform.Grains.Storage;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>
/// Writes a consumer's delivery batch to a subject (a pull request's inbox or a push consumer's deliver subject):
/// each message under its original subject, with the v1 ack reply subject
/// <c>$JS.ACK.&lt;stream&gt;.&lt;consumer&gt;.&lt;delivered&gt;.&lt;sseq&gt;.&lt;cseq&gt;.&lt;ts&gt;.&lt;pending&gt;</c>.
/// </summary>
internal sealed class DeliveryWriter(NatsServer server, Advisories advisories, string stream, string consumer, bool headersOnly, long maxDeliver)
{
    private readonly byte[] _ackPrefix = Encoding.UTF8.GetBytes($"$JS.ACK.{stream}.{consumer}.");

    public string Stream { get; } = stream;
    public string Consumer { get; } = consumer;

    /// <summary>Delivers every message of the batch; returns the stored bytes delivered.</summary>
    public long Write(ReadOnlySpan<byte> target, DeliveryBatch batch)
    {
        // A batch may carry only news of messages that ran out of deliveries.
        if (batch.MaxDeliveriesReached is { } exhausted)
            foreach (var seq in exhausted)
                advisories.MaxDeliveries(Stream, Consumer, seq, (ulong)maxDeliver);
        if (batch.Count == 0)
            return 0;
        Span<byte> ack = stackalloc byte[_ackPrefix.Length + 5 * 21];
        _ackPrefix.CopyTo(ack);
        // Deliveries of one batch wake each subscriber's writer once, not once per message.
        var touched = new HashSet<OutboundBuffer>();
        var frames = batch.Frames.AsSpan(0, batch.Length);
        int offset = 0;
        long bytes = 0;
        // A pinned client's deliveries carry the pin: each message is rewritten with the header added, all of them into
        // one buffer for the batch (slices the subscribers' writers copy from, so none is reused).
        byte[]? pinLine = batch.PinId is { } pinId ? Encoding.ASCII.GetBytes($"{PinHeader}: {pinId}\r\n") : null;
        byte[]? pinned = pinLine is null ? null : new byte[batch.Length + batch.Count * (pinLine.Length + EmptyHeaders.Length)];
        int pinnedAt = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            int frameStart = offset;
            var frame = frames[offset..];
            ulong sseq = BinaryPrimitives.ReadUInt64LittleEndian(frame);
            ulong cseq = BinaryPrimitives.ReadUInt64LittleEndian(frame[8..]);
            uint deliveries = BinaryPrimitives.ReadUInt32LittleEndian(frame[16..]);
            ulong pending = BinaryPrimitives.ReadUInt64LittleEndian(frame[20..]);
            int length = BinaryPrimitives.ReadInt32LittleEndian(frame[28..]);
            var record = frame.Slice(32, length);
            offset += 32 + length;

            int p = _ackPrefix.Length;
            p += Number(ack[p..], deliveries);
            p += Number(ack[p..], sseq);
            p += Number(ack[p..], cseq);
            p += Number(ack[p..], (ulong)RecordCodec.GetTimestampNanos(record));
            Utf8Formatter.TryFormat(pending, ack[p..], out int w);
            p += w;

            var subject = RecordCodec.GetSubject(record);
            var headers = RecordCodec.GetHeaders(record);
            var payload = RecordCodec.GetPayload(record);
            if (pinned is not null)
            {
                int start = pinnedAt;
                int headerLength = WithPinHeader(headers, pinLine!, pinned.AsSpan(start));
                headers = pinned.AsSpan(start, headerLength);
                payload.CopyTo(pinned.AsSpan(start + headerLength));
                pinnedAt += headerLength + payload.Length;
                bytes += subject.Length + p + headerLength + payload.Length;
                if (headersOnly)
                {
                    var headersBlock = HeadersOnly(headers, payload.Length);
                    server.Deliver(target, subject, ack[..p], headersBlock.Length, new ReadOnlySequence<byte>(headersBlock), null, touched);
                }
                else
                {
                    server.Deliver(target, subject, ack[..p], headerLength, new ReadOnlySequence<byte>(pinned, start, headerLength + payload.Length), null, touched);
                }
                continue;
            }
            // As nats-server counts a delivery against a pull request's max_bytes (see PullSize).
            bytes += subject.Length + p + headers.Length + payload.Length;
            if (headersOnly)
            {
                var block = HeadersOnly(headers, payload.Length);
                server.Deliver(target, subject, ack[..p], block.Length, new ReadOnlySequence<byte>(block), null, touched);
            }
            else
            {
                // Headers and payload sit next to each other in the record, so the message is one slice of it.
                int messageLength = headers.Length + payload.Length;
                int messageStart = frameStart + 32 + RecordCodec.HeaderLength + subject.Length;
                server.Deliver(target, subject, ack[..p], headers.Length, new ReadOnlySequence<byte>(batch.Frames, messageStart, messageLength), null, touched);
            }
        }
        OutboundBuffer.SignalAll(touched);
        return bytes;
    }

    private static int Number(Span<byte> destination, ulong value)
    {
        Utf8Formatter.TryFormat(value, destination, out int written);
        destination[written] = (byte)'.';
        return written + 1;
    }

    private const string PinHeader = "Nats-Pin-Id";
    private static readonly byte[] EmptyHeaders = "NATS/1.0\r\n\r\n"u8.ToArray();

    /// <summary>Writes the message's headers with the pin's line added to <paramref name="destination"/>; returns their length.</summary>
    private static int WithPinHeader(ReadOnlySpan<byte> headers, ReadOnlySpan<byte> pinLine, Span<byte> destination)
    {
        // Without headers the block is made; with them the line goes before the blank line that ends them.
        var head = headers.IsEmpty ? EmptyHeaders.AsSpan(0, EmptyHeaders.Length - 2) : headers[..^2];
        head.CopyTo(destination);
        pinLine.CopyTo(destination[head.Length..]);
        "\r\n"u8.CopyTo(destination[(head.Length + pinLine.Length)..]);
        return head.Length + pinLine.Length + 2;
    }

    /// <summary>headers_only: the original headers plus Nats-Msg-Size, and no payload.</summary>
    private static byte[] HeadersOnly(ReadOnlySpan<byte> headers, int payloadSize)
    {
        var text = headers.IsEmpty ? "NATS/1.0\r\n" : Encoding.UTF8.GetString(headers[..^2]);
        return Encoding.UTF8.GetBytes($"{text}Nats-Msg-Size: {payloadSize}\r\n\r\n");
    }
}
