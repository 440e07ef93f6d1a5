using NATS.Client.Core;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// The loop of the one-at-a-time scenarios (sync publish, request/reply): each worker waits for its paced turn,
/// runs one operation and waits for its outcome before the next, and latency runs from the intended send time.
/// </summary>
internal static class ClosedLoop
{
    /// <summary>One operation of one worker: null when it completed, else the error to count.</summary>
    public delegate Task<string?> Operation(CancellationToken cancellationToken);

    /// <param name="createWorker">Makes worker p's operation; called once per worker, on its own task.</param>
    /// <param name="subs">Subscriptions the result reports (the responder of request/reply).</param>
    public static async Task<RunResult> RunAsync(ScenarioContext ctx, string failure, Func<int, Operation> createWorker,
        int subs, string measures, string latencyMeasures)
    {
        var o = ctx.Options;
        var latencies = Enumerable.Range(0, o.Pubs).Select(_ => new LatencyRecorder()).ToArray();
        var lastDone = new long[o.Pubs];
        await using var progress = ctx.Progress(ctx.Options.Scenario);
        using var phase = ctx.Limits.StartPublishPhase();
        var start = Clock.Now;
        var tasks = Enumerable.Range(0, o.Pubs).Select(p => Task.Run(async () =>
        {
            var operation = createWorker(p);
            var pacer = Pacer.ForShare(o.Rate, o.Pubs, start);
            var count = ctx.Limits.ShareOf(p, o.Pubs);
            for (long i = 0; i < count && !phase.IsCancellationRequested; i++)
            {
                long intended;
                try
                {
                    intended = await pacer.WaitForTurnAsync(i, phase.Token);
                }
                catch (OperationCanceledException) when (phase.IsCancellationRequested)
                {
                    break;
                }
                ctx.Counters.AddSent();
                try
                {
                    var error = await operation(phase.Token);
                    var now = Clock.Now;
                    if (error is not null)
                    {
                        ctx.Counters.NoteError(error);
                        continue;
                    }
                    latencies[p].RecordSince(intended, now);
                    lastDone[p] = now;
                    ctx.Counters.AddDone();
                }
                catch (OperationCanceledException) when (phase.IsCancellationRequested)
                {
                    // Cut short by the end of the phase: not sent as far as the result is concerned.
                    ctx.Counters.AddSent(-1);
                    break;
                }
                catch (Exception ex) when (ex is NatsException or TimeoutException or OperationCanceledException)
                {
                    ctx.Counters.NoteError($"{failure} failed: {ex.GetType().Name}: {ex.Message}");
                }
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        var end = lastDone.Max();
        return ctx.NewResult(subs) with
        {
            Status = ctx.Counters.Errors == 0 ? RunStatus.Ok : RunStatus.Errors,
            Sent = ctx.Counters.Sent,
            Completed = ctx.Counters.Done,
            Errors = ctx.Counters.Errors,
            ElapsedSeconds = Clock.SecondsBetween(start, end > 0 ? end : Clock.Now),
            Measures = measures,
            LatencyMeasures = latencyMeasures,
            Latency = LatencyRecorder.Summarize(latencies),
            Message = ctx.Counters.FirstError,
        };
    }
}
