using NATS.Client.JetStream;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// JetStream publish (windowed, as js-pub-async) while pull consumers drain the same streams with explicit acks.
/// Throughput counts consumed messages; latency is publish to receive through the store.
/// </summary>
internal sealed class JsPubSubScenario : IScenario
{
    public string Name => "js-pubsub";

    public Task<RunResult> RunAsync(ScenarioContext ctx) => StreamSetup.WithStreamsAsync(ctx, js => RunAsync(ctx, js));

    private static async Task<RunResult> RunAsync(ScenarioContext ctx, INatsJSContext js)
    {
        var o = ctx.Options;
        var hard = ctx.Limits.Hard;
        await StreamSetup.CreateConsumersAsync(js, o.Streams, MaxAckPending(o), hard);
        await using var consumers = await PullConsumerGroup.OpenAsync(o, ctx.Counters, hard);
        await consumers.StartAsync(o, stamped: true);

        // Publish acks go to their own counters: the run's "done" counts consumed messages.
        var publishCounters = new LiveCounters();
        JsPublishPhase.Outcome pub;
        await using (ctx.Progress("js-pubsub", sent: publishCounters, done: ctx.Counters))
        {
            pub = await JsPublishPhase.RunAsync(o, ctx.Limits, publishCounters,
                stampPayload: true, recordLatency: false);
            // Stored messages must all arrive: wait while they keep coming, up to the drain allowance.
            await DrainWaiter.UntilAsync(() => ctx.Counters.Done >= pub.Acked, () => ctx.Counters.Done,
                ctx.Limits.Drain, ctx.Limits.Drain, hard);
        }
        await consumers.StopAsync();
        var consumed = ctx.Counters.Done;
        var end = consumers.LastReceive;
        var missing = Math.Max(0, pub.Acked - consumed);
        var errors = publishCounters.Errors + ctx.Counters.Errors + missing;
        return ctx.NewResult(consumers.Count) with
        {
            Status = errors == 0 ? RunStatus.Ok : RunStatus.Errors,
            Sent = pub.Sent,
            Completed = consumed,
            Errors = errors,
            ElapsedSeconds = Clock.SecondsBetween(pub.Start, end > 0 ? end : Clock.Now),
            Measures = $"messages consumed and acked ({consumers.Count} pull consumer(s), batch {o.Batch})",
            LatencyMeasures = "publish to receive",
            Latency = consumers.Latency,
            Message = string.Join("; ", new[]
            {
                $"{pub.Acked:N0} publishes acked at {pub.Acked / Math.Max(1e-9, Clock.SecondsBetween(pub.Start, pub.LastAck)):N0} msgs/s",
                missing > 0 ? $"{missing:N0} stored messages not consumed" : null,
                publishCounters.FirstError, ctx.Counters.FirstError,
            }.Where(t => t is not null)),
        };
    }

    /// <summary>Enough unacked messages for every consumer's pull batches plus the publishers' windows in flight.</summary>
    internal static int MaxAckPending(Options.LoadOptions o) => Math.Max(10_000, o.Batch * 4);
}
