using NATS.Client.JetStream;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// Consume a backlog: pre-fill the streams (--msgs, or --duration worth of windowed publishing, not timed), then
/// pull-consume everything with explicit acks and time only that. The consumers are created before the pre-fill,
/// so a server without consumer support fails in a second rather than after filling a store.
/// </summary>
/// <remarks>With <c>fetch</c> ("js-fetch") each consumer pulls in a request-then-ack loop instead of a pipelined consume.</remarks>
internal sealed class JsConsumeScenario(bool fetch = false) : IScenario
{
    public string Name => fetch ? "js-fetch" : "js-consume";

    public bool ConsumesBacklog => true;

    public Task<RunResult> RunAsync(ScenarioContext ctx) => StreamSetup.WithStreamsAsync(ctx, js => RunAsync(ctx, js));

    private async Task<RunResult> RunAsync(ScenarioContext ctx, INatsJSContext js)
    {
        var o = ctx.Options;
        var hard = ctx.Limits.Hard;
        await StreamSetup.CreateConsumersAsync(js, o.Streams, JsPubSubScenario.MaxAckPending(o), hard);

        var prefill = await JsPublishPhase.PrefillAsync(ctx);
        long stored = prefill.Stored;

        await using var consumers = await PullConsumerGroup.OpenAsync(o, ctx.Counters, hard);
        long start;
        await using (ctx.Progress("consume"))
        {
            start = Clock.Now;
            await consumers.StartAsync(o, stamped: false, fetch);
            // The backlog is bounded, so is the wait: --max-time at most, or --drain without progress.
            await DrainWaiter.UntilAsync(() => ctx.Counters.Done >= stored, () => ctx.Counters.Done,
                TimeSpan.FromSeconds(o.MaxTime), ctx.Limits.Drain, hard);
        }
        await consumers.StopAsync();
        var consumed = ctx.Counters.Done;
        var end = consumers.LastReceive;
        var missing = Math.Max(0, stored - consumed);
        var errors = ctx.Counters.Errors + missing;
        return ctx.NewResult(consumers.Count) with
        {
            Status = errors == 0 ? RunStatus.Ok : RunStatus.Errors,
            Sent = stored,
            Completed = consumed,
            Errors = errors,
            ElapsedSeconds = Clock.SecondsBetween(start, end > 0 ? end : Clock.Now),
            Measures = $"backlog messages {(fetch ? "fetched" : "consumed")} and acked ({consumers.Count} pull consumer(s), batch {o.Batch})",
            LatencyMeasures = "backlog consume: messages were stored before timing began",
            Message = string.Join("; ", new[]
            {
                prefill.Description,
                missing > 0 ? $"{missing:N0} backlog messages not consumed" : null,
                prefill.FirstError, ctx.Counters.FirstError,
            }.Where(t => t is not null)),
        };
    }
}
