using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using Orleans.Concurrency;
using Platform.Grains.Consumers;
using Platform.Grains.Storage;
using Platform.Grains.Streams;
using Platform.Grains.Subjects;

namespace Platform.Grains.Client;

/// <summary>
/// The typed front door for .NET code: publish to and consume from the platform's streams through grain calls,
/// from inside a silo (its <see cref="IGrainFactory"/>) or from an external Orleans client (<see cref="IClusterClient"/>).
/// Messages published here are ordinary stream messages, so NATS clients read them too, and the other way round.
/// </summary>
/// <remarks>
/// Data calls are batched the way the NATS gateway batches them: a batch publish is one framed
/// <see cref="Immutable{T}"/> buffer in one grain call, and a consumer fetches and acks in batches, because a grain
/// call per message costs more than the message.
/// </remarks>
public sealed partial class PlatformStreams(IGrainFactory grains)
{
    private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>();

    /// <summary>Creates a stream through the catalog (which fills in nats-server's defaults and checks subjects are disjoint).</summary>
    /// <exception cref="PlatformStreamException">The catalog refused it, e.g. a name in use with another configuration.</exception>
    public async Task<PlatformStreamInfo> CreateStreamAsync(PlatformStreamConfig config)
    {
        var result = await grains.GetGrain<IStreamCatalogGrain>(0).Create(config.WithDefaults());
        return result.Error is { } error ? throw new PlatformStreamException(error) : result.Value!;
    }

    /// <summary>Publishes one message and waits for its ack.</summary>
    /// <exception cref="PlatformStreamException">The stream refused the message (the ack carried an error).</exception>
    public async Task<PublishAck> PublishAsync(string stream, string subject, ReadOnlyMemory<byte> payload, IReadOnlyDictionary<string, string>? headers = null)
    {
        var acks = await PublishAsync(stream, [new OutgoingMessage(subject, payload, headers)]);
        return acks[0].Error is { } error ? throw new PlatformStreamException(error) : acks[0];
    }

    /// <summary>
    /// Publishes a batch in one grain call; returns one ack per message in order. A refused message has
    /// <see cref="PublishAck.Error"/> set and does not fail the others, as with separate NATS publishes.
    /// </summary>
    /// <exception cref="ArgumentException">A subject is not one a NATS client could publish on; nothing was sent.</exception>
    public async Task<PublishAck[]> PublishAsync(string stream, IReadOnlyList<OutgoingMessage> messages)
    {
        if (messages.Count == 0)
            return [];
        for (int i = 0; i < messages.Count; i++)
            CheckSubject(messages[i].Subject);
        var layout = await StreamLayouts.GetAsync(grains, stream);
        var acks = await PublishToPartitionsAsync(stream, messages, layout);
        // The stream was deleted and made again with other partitions since the count was learnt: what the grains
        // refused as another partition's is sent once more, where it belongs now.
        if (Array.Exists(acks, a => a.Error == StreamSubjects.WrongPartition))
        {
            StreamLayouts.Forget(grains, stream);
            layout = await StreamLayouts.GetAsync(grains, stream);
            var retry = new List<int>();
            for (int i = 0; i < acks.Length; i++)
                if (acks[i].Error == StreamSubjects.WrongPartition)
                    retry.Add(i);
            var again = await PublishToPartitionsAsync(stream, retry.Select(i => messages[i]).ToList(), layout);
            for (int j = 0; j < retry.Count; j++)
                acks[retry[j]] = again[j];
        }
        return acks;
    }

    /// <summary>
    /// Refuses, before anything is sent, a subject NATS clients could not receive (whitespace, an empty token, a
    /// wildcard token): the stream grain's own rule (<see cref="StreamSubjects"/>), so the message is named here rather
    /// than coming back as a bare "subject does not belong to the stream".
    /// </summary>
    internal static void CheckSubject(string subject)
    {
        if (InvalidSubject(subject) is { } problem)
            throw new ArgumentException(problem, nameof(subject));
    }

    /// <summary>Why <paramref name="subject"/> cannot be published on, or null when it can.</summary>
    internal static string? InvalidSubject(string subject) => SubjectMatch.IsValidSubject(subject, allowWildcards: false)
        ? null
        : $"\"{subject}\" is not a valid subject to publish on: tokens must be non-empty, without whitespace, and not '*' or '>'";

    /// <summary>One grain call per partition the batch touches (the same fan-out as the gateway's), acks in publish order.</summary>
    private async Task<PublishAck[]> PublishToPartitionsAsync(string stream, IReadOnlyList<OutgoingMessage> messages, StreamLayout layout)
    {
        int partitions = layout.Partitions;
        if (partitions <= 1)
        {
            var (frames, length) = Frame(messages);
            return (await grains.GetGrain<IStreamGrain>(stream).AppendAsync(frames.AsImmutable(), length, messages.Count, layout.Replicated)).Value;
        }
        var byPartition = new Dictionary<int, List<int>>();
        for (int i = 0; i < messages.Count; i++)
        {
            int p = StreamKeys.PartitionOf(messages[i].Subject, partitions);
            if (!byPartition.TryGetValue(p, out var indices))
                byPartition[p] = indices = [];
            indices.Add(i);
        }
        var calls = byPartition.Select(async pair =>
        {
            var (frames, length) = Frame(pair.Value.Select(i => messages[i]).ToList());
            var acks = await grains.GetGrain<IStreamGrain>(StreamKeys.Partition(stream, pair.Key))
                .AppendAsync(frames.AsImmutable(), length, pair.Value.Count, layout.Replicated);
            return (Indices: pair.Value, Acks: acks.Value);
        }).ToArray();
        var all = new PublishAck[messages.Count];
        foreach (var (indices, acks) in await Task.WhenAll(calls))
            for (int j = 0; j < indices.Count; j++)
                all[indices[j]] = acks[j];
        return all;
    }

    /// <summary>
    /// Consumes a stream through a durable pull consumer named <paramref name="consumerName"/>, created with explicit
    /// acks if it does not exist (an existing one is used as configured). Messages are fetched in batches; a message
    /// counts as processed once the loop asks for the next one, and processed messages are acked in one call per batch.
    /// The message the loop was on when it stopped (break, exception, cancellation) and the rest of its fetched batch
    /// are not acked but nak'ed, so they are redelivered at once: delivery is at-least-once.
    /// </summary>
    public async IAsyncEnumerable<ConsumedMessage> ConsumeAsync(string stream, string consumerName, ConsumeOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new ConsumeOptions();
        var consumer = await EnsureConsumerAsync(stream, consumerName, options);
        var done = new List<AckOp>(options.BatchSize);
        var fetched = new List<ConsumedMessage>(options.BatchSize);
        int current = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var batch = (await consumer.Fetch(options.BatchSize, 0, options.FetchWait, AckOp.None)).Value;
                if (batch.Status == FetchStatus.Deleted)
                    throw new PlatformStreamException(ConsumerNotFound);
                fetched.Clear();
                int offset = 0;
                for (int i = 0; i < batch.Count; i++)
                    fetched.Add(ReadDelivery(stream, batch.Frames, ref offset));
                for (current = 0; current < fetched.Count; current++)
                {
                    yield return fetched[current];
                    // Resumed: the caller is done with the message.
                    done.Add(new AckOp(AckKind.Ack, fetched[current].StreamSequence, fetched[current].ConsumerSequence, 0));
                }
                if (done.Count > 0)
                {
                    await consumer.Ack(done.ToArray().AsImmutable(), durable: true);
                    done.Clear();
                }
            }
        }
        finally
        {
            // Leaving mid-batch: ack what was finished, and hand the rest of the fetched batch (with the message the
            // loop stopped on) back at once with a nak, rather than leaving it to wait out the ack wait.
            for (int i = current; i < fetched.Count; i++)
                done.Add(new AckOp(AckKind.Nak, fetched[i].StreamSequence, fetched[i].ConsumerSequence, 0));
            if (done.Count > 0)
                await consumer.Ack(done.ToArray().AsImmutable(), durable: true);
        }
    }

    private async Task<IConsumerGrain> EnsureConsumerAsync(string stream, string name, ConsumeOptions options)
    {
        var consumer = grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, name));
        if (await consumer.GetConfig() is not null)
            return consumer;
        var config = new PlatformConsumerConfig
        {
            DurableName = name,
            AckPolicy = AckPolicy.Explicit,
            DeliverPolicy = options.DeliverPolicy,
            OptStartSeq = options.DeliverPolicy == DeliverPolicy.ByStartSequence ? options.StartSequence : 0,
            FilterSubjects = options.FilterSubjects is { Length: > 1 } many ? many : null,
            FilterSubject = options.FilterSubjects is { Length: 1 } one ? one[0] : null,
            AckWait = (long)options.AckWait.TotalNanoseconds,
            // The fetch size must fit in the pending window, or a batch could never be full.
            MaxAckPending = Math.Max(1000, options.BatchSize),
        };
        await CreateConsumerAsync(stream, config);
        return consumer;
    }

    /// <summary>Frames a batch as <see cref="PublishFrames"/> describes, in one exactly sized array.</summary>
    internal static (byte[] Frames, int Length) Frame(IReadOnlyList<OutgoingMessage> messages)
    {
        var headerBlocks = new byte[messages.Count][];
        int size = 0;
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            headerBlocks[i] = EncodeHeaders(m.Headers);
            size += PublishFrames.FrameSize(Encoding.UTF8.GetByteCount(m.Subject), headerBlocks[i].Length, m.Payload.Length);
        }
        var frames = new byte[size];
        int p = 0;
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            int subjectLength = Encoding.UTF8.GetBytes(m.Subject, frames.AsSpan(p + PublishFrames.FrameHeaderSize));
            PublishFrames.WriteHeader(frames.AsSpan(p), subjectLength, headerBlocks[i].Length, m.Payload.Length);
            p += PublishFrames.FrameHeaderSize + subjectLength;
            headerBlocks[i].CopyTo(frames.AsSpan(p));
            p += headerBlocks[i].Length;
            m.Payload.Span.CopyTo(frames.AsSpan(p));
            p += m.Payload.Length;
        }
        return (frames, size);
    }

    /// <summary>A NATS/1.0 header block, as a NATS client would send it (empty when there are no headers).</summary>
    internal static byte[] EncodeHeaders(IReadOnlyDictionary<string, string>? headers)
    {
        if (headers is null || headers.Count == 0)
            return [];
        var text = new StringBuilder("NATS/1.0\r\n");
        foreach (var (key, value) in headers)
            text.Append(key).Append(": ").Append(value).Append("\r\n");
        text.Append("\r\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Reads a NATS/1.0 header block; a key repeated in the block keeps its first value.</summary>
    internal static IReadOnlyDictionary<string, string> DecodeHeaders(ReadOnlySpan<byte> block)
    {
        if (block.IsEmpty)
            return NoHeaders;
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = Encoding.UTF8.GetString(block).Split("\r\n");
        // lines[0] is the status line ("NATS/1.0", possibly with a status code).
        for (int i = 1; i < lines.Length; i++)
        {
            int colon = lines[i].IndexOf(':');
            if (colon > 0)
                headers.TryAdd(lines[i][..colon], lines[i][(colon + 1)..].Trim());
        }
        return headers;
    }

    /// <summary>One frame of a <see cref="DeliveryBatch"/>: <c>[sseq:u64][cseq:u64][deliveries:u32][pending:u64][length:i32][record]</c>.</summary>
    private static ConsumedMessage ReadDelivery(string stream, byte[] frames, ref int offset)
    {
        var span = frames.AsSpan(offset);
        ulong streamSeq = BinaryPrimitives.ReadUInt64LittleEndian(span);
        ulong consumerSeq = BinaryPrimitives.ReadUInt64LittleEndian(span[8..]);
        uint deliveries = BinaryPrimitives.ReadUInt32LittleEndian(span[16..]);
        ulong pending = BinaryPrimitives.ReadUInt64LittleEndian(span[20..]);
        int length = BinaryPrimitives.ReadInt32LittleEndian(span[28..]);
        int recordStart = offset + 32;
        offset = recordStart + length;
        return FromRecord(stream, streamSeq, consumerSeq, deliveries, pending, new ReadOnlyMemory<byte>(frames, recordStart, length));
    }

    /// <summary>A message from a record as the log stores it (<see cref="RecordCodec"/>); the payload is not copied.</summary>
    internal static ConsumedMessage FromRecord(string stream, ulong streamSeq, ulong consumerSeq, uint deliveries, ulong pending, ReadOnlyMemory<byte> record)
    {
        var span = record.Span;
        var (payloadStart, payloadLength) = RecordCodec.PayloadRange(span);
        long nanos = RecordCodec.GetTimestampNanos(span);
        return new ConsumedMessage(
            stream,
            Encoding.UTF8.GetString(RecordCodec.GetSubject(span)),
            streamSeq,
            consumerSeq,
            deliveries,
            pending,
            DateTime.UnixEpoch.AddTicks(nanos / 100),
            DecodeHeaders(RecordCodec.GetHeaders(span)),
            record.Slice(payloadStart, payloadLength));
    }
}
