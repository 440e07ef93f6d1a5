using System.Buffers;
using System.Buffers.Binary;

namespace Platform.Gateway.Cluster;

/// <summary>
/// What one silo sends another in a route batch, nats-server's route protocol in binary: RMSG (a message with the queue
/// groups it is for), RS+/RS- (interest with a queue weight, 0 for gone), and a reset that drops everything the sender
/// announced before (a route's reconnect). Lengths are little-endian; frames follow each other with no padding.
/// </summary>
/// <remarks>
/// Message:  op, u16 subject, u16 visible subject (0: the subject), u16 reply, u16 queue count, i32 header length,
///           i32 body length, then subject, visible subject, reply, each queue as u16 length + bytes, body.
/// Interest: op, u16 subject, u16 queue, i32 weight, then subject, queue.
/// Reset:    op.
/// </remarks>
internal static class RouteFrames
{
    public const byte Message = 1;
    public const byte Interest = 2;
    public const byte Reset = 3;

    private const int MessageHeader = 1 + 2 + 2 + 2 + 2 + 4 + 4;
    private const int InterestHeader = 1 + 2 + 2 + 4;

    public static int MessageSize(int subject, int visible, int reply, ReadOnlySpan<byte[]> queues, long body)
    {
        long size = MessageHeader + subject + visible + reply + body;
        foreach (var queue in queues)
            size += 2 + queue.Length;
        return checked((int)size);
    }

    public static int WriteMessage(Span<byte> destination, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> visible, ReadOnlySpan<byte> reply,
        ReadOnlySpan<byte[]> queues, int headerLength, in ReadOnlySequence<byte> body)
    {
        destination[0] = Message;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[1..], (ushort)subject.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[3..], (ushort)visible.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[5..], (ushort)reply.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[7..], (ushort)queues.Length);
        BinaryPrimitives.WriteInt32LittleEndian(destination[9..], headerLength);
        BinaryPrimitives.WriteInt32LittleEndian(destination[13..], (int)body.Length);
        int p = MessageHeader;
        subject.CopyTo(destination[p..]);
        p += subject.Length;
        visible.CopyTo(destination[p..]);
        p += visible.Length;
        reply.CopyTo(destination[p..]);
        p += reply.Length;
        foreach (var queue in queues)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination[p..], (ushort)queue.Length);
            queue.CopyTo(destination[(p + 2)..]);
            p += 2 + queue.Length;
        }
        body.CopyTo(destination[p..]);
        return p + (int)body.Length;
    }

    public static int InterestSize(int subject, int queue) => InterestHeader + subject + queue;

    public static int WriteInterest(Span<byte> destination, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> queue, int weight)
    {
        destination[0] = Interest;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[1..], (ushort)subject.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[3..], (ushort)queue.Length);
        BinaryPrimitives.WriteInt32LittleEndian(destination[5..], weight);
        subject.CopyTo(destination[InterestHeader..]);
        queue.CopyTo(destination[(InterestHeader + subject.Length)..]);
        return InterestHeader + subject.Length + queue.Length;
    }

    /// <summary>Reads one frame at <paramref name="offset"/> and moves past it; false at the end of the batch.</summary>
    public static bool TryRead(ReadOnlyMemory<byte> batch, ref int offset, out RouteFrame frame)
    {
        frame = default;
        if (offset >= batch.Length)
            return false;
        var span = batch.Span[offset..];
        switch (span[0])
        {
            case Reset:
                frame = new RouteFrame { Kind = Reset };
                offset += 1;
                return true;
            case Interest:
            {
                int subject = BinaryPrimitives.ReadUInt16LittleEndian(span[1..]);
                int queue = BinaryPrimitives.ReadUInt16LittleEndian(span[3..]);
                int start = offset + InterestHeader;
                frame = new RouteFrame
                {
                    Kind = Interest,
                    Weight = BinaryPrimitives.ReadInt32LittleEndian(span[5..]),
                    Subject = batch.Slice(start, subject),
                    Queues = batch.Slice(start + subject, queue),
                };
                offset = start + subject + queue;
                return true;
            }
            case Message:
            {
                int subject = BinaryPrimitives.ReadUInt16LittleEndian(span[1..]);
                int visible = BinaryPrimitives.ReadUInt16LittleEndian(span[3..]);
                int reply = BinaryPrimitives.ReadUInt16LittleEndian(span[5..]);
                int queueCount = BinaryPrimitives.ReadUInt16LittleEndian(span[7..]);
                int headerLength = BinaryPrimitives.ReadInt32LittleEndian(span[9..]);
                int body = BinaryPrimitives.ReadInt32LittleEndian(span[13..]);
                int p = offset + MessageHeader;
                var subjectBytes = batch.Slice(p, subject);
                p += subject;
                var visibleBytes = visible == 0 ? subjectBytes : batch.Slice(p, visible);
                p += visible;
                var replyBytes = batch.Slice(p, reply);
                p += reply;
                int queuesStart = p;
                var all = batch.Span;
                for (int i = 0; i < queueCount; i++)
                    p += 2 + BinaryPrimitives.ReadUInt16LittleEndian(all[p..]);
                frame = new RouteFrame
                {
                    Kind = Message,
                    Subject = subjectBytes,
                    VisibleSubject = visibleBytes,
                    Reply = replyBytes,
                    Queues = batch.Slice(queuesStart, p - queuesStart),
                    HeaderLength = headerLength,
                    Body = batch.Slice(p, body),
                };
                offset = p + body;
                return true;
            }
            default:
                throw new InvalidDataException($"unknown route frame {span[0]}");
        }
    }

    /// <summary>Whether the queue list of a message frame names <paramref name="queue"/> (wire bytes as Latin-1 text).</summary>
    public static bool NamesQueue(ReadOnlySpan<byte> queues, string queue)
    {
        while (!queues.IsEmpty)
        {
            int length = BinaryPrimitives.ReadUInt16LittleEndian(queues);
            var name = queues.Slice(2, length);
            if (EqualsLatin1(name, queue))
                return true;
            queues = queues[(2 + length)..];
        }
        return false;
    }

    private static bool EqualsLatin1(ReadOnlySpan<byte> bytes, string text)
    {
        if (bytes.Length != text.Length)
            return false;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != text[i])
                return false;
        }
        return true;
    }
}

/// <summary>One decoded frame: slices of the batch, valid while the batch is.</summary>
internal struct RouteFrame
{
    public byte Kind;
    public ReadOnlyMemory<byte> Subject;
    public ReadOnlyMemory<byte> VisibleSubject;
    public ReadOnlyMemory<byte> Reply;
    /// <summary>For a message, the encoded queue list; for interest, the queue name.</summary>
    public ReadOnlyMemory<byte> Queues;
    public ReadOnlyMemory<byte> Body;
    public int HeaderLength;
    public int Weight;
}
