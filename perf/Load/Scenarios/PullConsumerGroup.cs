using NATS.Client.Core;
using NATS.Client.JetStream;
using Platform.Load.Options;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// Pull consumers acking every message explicitly, one connection each, spread round-robin over the streams'
/// durable consumers (so at least one per stream). They run until stopped; the scenario decides when enough
/// has arrived. Latency, when the payload carries a send tick, is publish to receive.
/// </summary>
internal sealed class PullConsumerGroup : IAsyncDisposable
{
    private readonly ClientSet _connections;
    private readonly LatencyRecorder[] _latencies;
    private readonly long[] _lastReceive;
    private readonly LiveCounters _counters;
    private readonly CancellationTokenSource _stop;
    private Task[] _loops = [];

    private PullConsumerGroup(ClientSet connections, LiveCounters counters, CancellationToken hard)
    {
        _connections = connections;
        _counters = counters;
        _latencies = Enumerable.Range(0, connections.Count).Select(_ => new LatencyRecorder()).ToArray();
        _lastReceive = new long[connections.Count];
        _stop = CancellationTokenSource.CreateLinkedTokenSource(hard);
    }

    public int Count => _connections.Count;

    public static int CountFor(LoadOptions o) => Math.Max(o.Subs, o.Streams);

    public static async Task<PullConsumerGroup> OpenAsync(LoadOptions o, LiveCounters counters, CancellationToken hard) =>
        new(await ClientSet.OpenAsync(o, "jssub", CountFor(o), hard), counters, hard);

    /// <summary>Looks up each consumer and starts consuming; a lookup failure means the consumer API is missing.</summary>
    /// <param name="fetch">
    /// Pull as a worker loop does (nats.go's <c>Fetch(n)</c>, NATS.Net's <c>FetchAsync</c>): one request of --batch
    /// messages, ack them, then the next request, so every request waits a full round trip. Otherwise the client's
    /// <c>ConsumeAsync</c> keeps requests pipelined.
    /// </param>
    public async Task StartAsync(LoadOptions o, bool stamped, bool fetch = false)
    {
        var consumers = new INatsJSConsumer[Count];
        for (var s = 0; s < Count; s++)
        {
            var stream = StreamSetup.StreamName(s % o.Streams);
            try
            {
                consumers[s] = await new NatsJSContext(_connections[s]).GetConsumerAsync(stream, StreamSetup.ConsumerName, _stop.Token);
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException)
            {
                throw new ScenarioUnsupportedException(
                    $"the server's consumer API failed (CONSUMER.INFO {stream}.{StreamSetup.ConsumerName}): {ex.GetType().Name}: {ex.Message}", ex);
            }
        }
        if (fetch)
        {
            var fetchOpts = new NatsJSFetchOpts { MaxMsgs = o.Batch, Expires = TimeSpan.FromSeconds(5) };
            _loops = consumers.Select((c, s) => Task.Run(() => FetchAsync(c, fetchOpts, s, stamped))).ToArray();
            return;
        }
        var opts = new NatsJSConsumeOpts { MaxMsgs = o.Batch };
        _loops = consumers.Select((c, s) => Task.Run(() => ConsumeAsync(c, opts, s, stamped))).ToArray();
    }

    private async Task FetchAsync(INatsJSConsumer consumer, NatsJSFetchOpts opts, int index, bool stamped)
    {
        var ct = _stop.Token;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await foreach (var msg in consumer.FetchAsync<byte[]>(opts, cancellationToken: ct))
                    await ReceivedAsync(msg, index, stamped, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is NatsException or TimeoutException)
        {
            _counters.NoteError($"fetch failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private async ValueTask ReceivedAsync(INatsJSMsg<byte[]> msg, int index, bool stamped, CancellationToken ct)
    {
        var now = Clock.Now;
        if (stamped && Payload.TryReadStamp(msg.Data, out var sentTick))
            _latencies[index].RecordSince(sentTick, now);
        await msg.AckAsync(cancellationToken: ct);
        _lastReceive[index] = now;
        _counters.AddDone();
    }

    private async Task ConsumeAsync(INatsJSConsumer consumer, NatsJSConsumeOpts opts, int index, bool stamped)
    {
        var ct = _stop.Token;
        try
        {
            await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: opts, cancellationToken: ct))
                await ReceivedAsync(msg, index, stamped, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is NatsException or TimeoutException)
        {
            _counters.NoteError($"consume failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>Tick of the last message received by any consumer, 0 when none arrived.</summary>
    public long LastReceive => _lastReceive.Max();

    public LatencySummary? Latency => LatencyRecorder.Summarize(_latencies);

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _connections.DisposeAsync();
        _stop.Dispose();
    }
}
