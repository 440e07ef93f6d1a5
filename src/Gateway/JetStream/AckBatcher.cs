using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Orleans.Concurrency;
using Platform.Grains.Consumers;
using Platform.Gateway.Routing;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>
/// Collects the acks a connection publishes to $JS.ACK subjects during one read, and applies them with one grain
/// call per consumer at the end of the read. Acks that asked for a reply (AckSync) make that call durable and are
/// answered once it returns: the answer means the ack survives kill -9. +NXT starts its pull request after the ack is in.
/// </summary>
internal sealed class AckBatcher
{
    private readonly Dictionary<ConsumerHandle, ConsumerAcks> _acks = [];
    private readonly List<(ConsumerHandle Consumer, string Reply, byte[] Body)> _next = [];

    public bool IsEmpty => _acks.Count == 0;

    private sealed class ConsumerAcks
    {
        public readonly List<AckOp> Ops = [];
        public List<string>? Replies;
        public Task? Call;
    }

    public void Add(ConsumerHandle consumer, AckOp op, ReadOnlySpan<byte> reply, ReadOnlySpan<byte> body)
    {
        if (!_acks.TryGetValue(consumer, out var acks))
            _acks[consumer] = acks = new ConsumerAcks();
        acks.Ops.Add(op);
        if (reply.IsEmpty)
            return;
        if (op.Kind == AckKind.Next)
            _next.Add((consumer, Encoding.Latin1.GetString(reply), body.ToArray()));
        else
            (acks.Replies ??= []).Add(Encoding.Latin1.GetString(reply));
    }

    /// <summary>
    /// Takes the read's acks for <paramref name="consumer"/> off the batch for a pull request of the same read to carry
    /// (<see cref="IConsumerGrain.Fetch"/>); none if there are none or one of them waits for a reply (AckSync must be
    /// durable before it is answered, which a fetch does not wait for).
    /// </summary>
    public AckOp[]? Take(ConsumerHandle consumer)
    {
        if (!_acks.TryGetValue(consumer, out var acks) || acks.Replies is not null)
            return null;
        _acks.Remove(consumer);
        return [.. acks.Ops];
    }

    public async ValueTask FlushAsync(NatsServer server, ConsumerApi api)
    {
        var batches = new ConsumerAcks[_acks.Count];
        int count = 0;
        foreach (var (consumer, acks) in _acks)
        {
            acks.Call = consumer.Grain.Ack(new Immutable<AckOp[]>([.. acks.Ops]), durable: acks.Replies is not null);
            batches[count++] = acks;
        }
        _acks.Clear();
        foreach (var acks in batches)
        {
            try
            {
                await acks.Call!;
            }
            catch (Exception)
            {
                // Not answered: the AckSync times out and the client may resend; the message is redelivered either way.
                continue;
            }
            if (acks.Replies is null)
                continue;
            foreach (var reply in acks.Replies)
                server.Deliver(Encoding.Latin1.GetBytes(reply), default, 0, ReadOnlySequence<byte>.Empty, null, null);
        }
        foreach (var (consumer, reply, body) in _next)
            api.StartPull(consumer, reply, body, []);
        _next.Clear();
    }

    /// <summary>Reads the ack kind from the body: empty or +ACK, -NAK [delay], +WPI, +TERM [reason], +NXT [request].</summary>
    public static AckKind? ParseKind(ReadOnlySpan<byte> body, out long delayNanos, out ReadOnlySpan<byte> rest)
    {
        delayNanos = 0;
        rest = default;
        body = body.Trim((byte)' ');
        if (body.IsEmpty || body.SequenceEqual("+ACK"u8) || body.SequenceEqual("+OK"u8))
            return AckKind.Ack;
        if (body.StartsWith("-NAK"u8))
        {
            delayNanos = ParseDelay(body[4..].Trim((byte)' '));
            return AckKind.Nak;
        }
        if (body.StartsWith("+WPI"u8))
            return AckKind.Progress;
        if (body.StartsWith("+TERM"u8))
            return AckKind.Term;
        if (body.StartsWith("+NXT"u8))
        {
            rest = body[4..].Trim((byte)' ');
            return AckKind.Next;
        }
        return null;
    }

    /// <summary>-NAK takes {"delay": nanoseconds} or a duration such as 500ms or 5s.</summary>
    private static long ParseDelay(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty)
            return 0;
        int colon = text.IndexOf((byte)':');
        if (text[0] == '{' && colon > 0)
        {
            var number = text[(colon + 1)..].TrimStart((byte)' ');
            return Utf8Parser.TryParse(number, out long nanos, out _) ? nanos : 0;
        }
        int unitStart = 0;
        while (unitStart < text.Length && (char.IsAsciiDigit((char)text[unitStart]) || text[unitStart] == '.')) unitStart++;
        if (!Utf8Parser.TryParse(text[..unitStart], out double value, out _))
            return 0;
        var unit = Encoding.ASCII.GetString(text[unitStart..]);
        return (long)(value * unit switch { "ns" => 1, "us" => 1e3, "ms" => 1e6, "s" => 1e9, "m" => 60e9, "h" => 3600e9, _ => 1e9 });
    }
}

/// <summary>The internal subscriber on $JS.ACK.&gt;: parses the ack subject and queues the ack on the publisher's batcher.</summary>
internal sealed class AckCollector(ConsumerApi api, Advisories advisories) : IInternalSubscriber
{
    public void OnMessage(Subscription subscription, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength,
        in ReadOnlySequence<byte> message, NatsClient? publisher)
    {
        if (publisher is null || !TryParseSubject(subject, out var consumerKey, out ulong deliveries, out ulong sseq, out ulong cseq))
            return;
        var body = message.Slice(headerLength);
        Span<byte> small = stackalloc byte[256];
        Span<byte> bytes = body.Length <= small.Length ? small[..(int)body.Length] : new byte[body.Length];
        body.CopyTo(bytes);
        if (AckBatcher.ParseKind(bytes, out var delay, out var rest) is not { } kind)
            return;
        if (api.Find(consumerKey) is not { } consumer)
        {
            // Not served from this silo: in a cluster, the silo that serves a push consumer delivers to subscribers on
            // every silo, and their acks come here. Looked up once; from then on Find knows it.
            if (kind != AckKind.Next)
                _ = api.AckUnservedAsync(Encoding.UTF8.GetString(consumerKey), new AckOp(kind, sseq, cseq, delay),
                    reply.IsEmpty ? null : Encoding.Latin1.GetString(reply));
            return;
        }
        var batcher = publisher.Acks ??= new AckBatcher();
        batcher.Add(consumer, new AckOp(kind, sseq, cseq, delay), reply, rest);
        if (kind == AckKind.Nak)
            advisories.Naked(consumer.Writer.Stream, consumer.Writer.Consumer, cseq, sseq, deliveries);
        else if (kind == AckKind.Term)
            advisories.Terminated(consumer.Writer.Stream, consumer.Writer.Consumer, cseq, sseq, deliveries,
                Encoding.UTF8.GetString(bytes.Trim((byte)' ')[5..].Trim((byte)' ')));
    }

    /// <summary>
    /// v1: $JS.ACK.&lt;stream&gt;.&lt;consumer&gt;.&lt;delivered&gt;.&lt;sseq&gt;.&lt;cseq&gt;.&lt;ts&gt;.&lt;pending&gt;;
    /// v2 adds domain and account hash after ACK. The key is "stream.consumer" as it stands in the subject.
    /// </summary>
    internal static bool TryParseSubject(ReadOnlySpan<byte> subject, out ReadOnlySpan<byte> consumerKey, out ulong deliveries, out ulong sseq, out ulong cseq)
    {
        consumerKey = default;
        deliveries = sseq = cseq = 0;
        Span<Range> tokens = stackalloc Range[16];
        int count = 0, start = 0;
        for (int i = 0; i <= subject.Length && count < tokens.Length; i++)
        {
            if (i == subject.Length || subject[i] == '.')
            {
                tokens[count++] = new Range(start, i);
                start = i + 1;
            }
        }
        int first = count switch { 9 => 2, >= 11 and <= 12 => 4, _ => -1 };
        if (first < 0)
            return false;
        consumerKey = subject[tokens[first].Start..tokens[first + 1].End];
        return Utf8Parser.TryParse(subject[tokens[first + 2]], out deliveries, out _)
               && Utf8Parser.TryParse(subject[tokens[first + 3]], out sseq, out _)
               && Utf8Parser.TryParse(subject[tokens[first + 4]], out cseq, out _);
    }
}
