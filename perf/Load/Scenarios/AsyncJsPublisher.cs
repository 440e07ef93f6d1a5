using NATS.Client.Core;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// Publishes to a stream with up to <c>window</c> acks outstanding, like nats bench's async publisher.
/// NATS.Net 3.3.2 has no windowed async JetStream publish, and one awaited request task per message would make
/// the client, not the server, the bottleneck on two cores. So this sends plain PUBs with a reply subject
/// &lt;inbox&gt;.&lt;n&gt; and reads all acks from one wildcard subscription, matching them to send times by n.
/// </summary>
internal sealed class AsyncJsPublisher
{
    private readonly NatsConnection _connection;
    private readonly string _subject;
    private readonly string _inboxPrefix;
    private readonly LiveCounters _counters;
    private readonly LatencyRecorder? _latency;
    private readonly SemaphoreSlim _permits;
    // Send time of message n lives in slot n % length; the slot also keeps n so a very late ack cannot pick up
    // the time of a newer message. Twice the window leaves room for acks that arrive out of order.
    private readonly long[] _slotSeq;
    private readonly long[] _slotTick;
    private long _acked;
    private long _errors;
    private long _lastAckTick;
    private INatsSub<byte[]>? _acks;

    public AsyncJsPublisher(NatsConnection connection, string subject, int window, LiveCounters counters, LatencyRecorder? latency)
    {
        _connection = connection;
        _subject = subject;
        _inboxPrefix = $"_INBOX.load.{Guid.NewGuid():N}.";
        _counters = counters;
        _latency = latency;
        _permits = new SemaphoreSlim(window, window);
        _slotSeq = new long[window * 2];
        _slotTick = new long[window * 2];
        Array.Fill(_slotSeq, -1);
    }

    /// <summary>Acks that reported the message stored.</summary>
    public long Acked => Interlocked.Read(ref _acked);

    /// <summary>Tick of the last ack, the end of this publisher's measured interval.</summary>
    public long LastAckTick => Interlocked.Read(ref _lastAckTick);

    /// <summary>
    /// Subscribes to the ack inbox. Done before the clock starts so that a paced run's first messages are not
    /// charged for the set-up round trip.
    /// </summary>
    public async Task PrepareAsync(CancellationToken ct)
    {
        _acks = await _connection.SubscribeCoreAsync<byte[]>(_inboxPrefix + "*", cancellationToken: ct);
        // The round trip guarantees the server knows the inbox subscription before the first ack is due.
        await _connection.PingAsync(ct);
    }

    /// <summary>
    /// Publishes up to <paramref name="count"/> messages until <paramref name="publishPhase"/> ends, then waits up
    /// to <paramref name="drain"/> for the outstanding acks. Acks that never came are counted as errors.
    /// </summary>
    public async Task<long> RunAsync(long count, Pacer pacer, PayloadSource body, CancellationToken publishPhase, TimeSpan drain, CancellationToken hard)
    {
        var sub = _acks ?? throw new InvalidOperationException("PrepareAsync must run first");
        using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(hard);
        var reader = ReadAcksAsync(sub, stopReading.Token);

        long sent = 0;
        try
        {
            for (long i = 0; i < count; i++)
            {
                var intended = await pacer.WaitForTurnAsync(i, publishPhase);
                await _permits.WaitAsync(publishPhase);
                var slot = i % _slotSeq.Length;
                Volatile.Write(ref _slotTick[slot], intended);
                Volatile.Write(ref _slotSeq[slot], i);
                await _connection.PublishAsync(_subject, body.Next(intended), replyTo: _inboxPrefix + i, cancellationToken: publishPhase);
                sent++;
                _counters.AddSent();
            }
        }
        catch (OperationCanceledException) when (publishPhase.IsCancellationRequested)
        {
            // The publish phase is over (duration reached or the run's deadline): stop sending, drain below.
        }

        await DrainWaiter.UntilAsync(
            () => Acked + Interlocked.Read(ref _errors) >= sent, () => Acked + Interlocked.Read(ref _errors), drain, drain, hard);
        await stopReading.CancelAsync();
        await reader;
        await sub.DisposeAsync();
        var missing = sent - Acked - Interlocked.Read(ref _errors);
        if (missing > 0)
        {
            _counters.AddError(missing - 1);
            _counters.NoteError($"{missing:N0} publish acks never arrived within {drain.TotalSeconds:F0} s after publishing");
        }
        return sent;
    }

    private async Task ReadAcksAsync(INatsSub<byte[]> sub, CancellationToken ct)
    {
        var reader = sub.Msgs;
        try
        {
            while (await reader.WaitToReadAsync(ct))
            {
                while (reader.TryRead(out var msg))
                    OnAck(msg, Clock.Now);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void OnAck(NatsMsg<byte[]> msg, long now)
    {
        var error = AckError(msg);
        if (error is not null)
        {
            Interlocked.Increment(ref _errors);
            _counters.NoteError(error);
        }
        else
        {
            if (TryParseSeq(msg.Subject, out var seq))
            {
                var slot = seq % _slotSeq.Length;
                var tick = Volatile.Read(ref _slotTick[slot]);
                if (Volatile.Read(ref _slotSeq[slot]) == seq)
                    _latency?.RecordSince(tick, now);
            }
            Interlocked.Increment(ref _acked);
            Interlocked.Exchange(ref _lastAckTick, now);
            _counters.AddDone();
        }
        try
        {
            _permits.Release();
        }
        catch (SemaphoreFullException)
        {
            // More acks than publishes (a server answering twice): the counters show it; the window stays valid.
        }
    }

    private bool TryParseSeq(string subject, out long seq)
    {
        seq = 0;
        return subject.Length > _inboxPrefix.Length
            && long.TryParse(subject.AsSpan(_inboxPrefix.Length), out seq);
    }

    /// <summary>The error text of a negative ack (a JSON error body or a status such as 503 no responders), else null.</summary>
    private static string? AckError(NatsMsg<byte[]> msg)
    {
        if (msg.Headers is { Code: >= 400 } h)
            return $"publish ack status {h.Code} {h.MessageText}";
        var data = msg.Data;
        if (data is null || data.Length == 0)
            return "empty publish ack";
        if (data.AsSpan().IndexOf("\"error\""u8) >= 0)
            return "publish ack error: " + System.Text.Encoding.UTF8.GetString(data);
        return null;
    }
}
