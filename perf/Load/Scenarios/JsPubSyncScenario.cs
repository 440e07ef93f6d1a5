using NATS.Client.Core;
using NATS.Client.JetStream;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// JetStream publish awaiting each ack before the next publish, through NATS.Net's own JetStream publish:
/// the per-message round trip through the server's storage path, what a careful application sees.
/// </summary>
internal sealed class JsPubSyncScenario : IScenario
{
    public string Name => "js-pub-sync";

    public Task<RunResult> RunAsync(ScenarioContext ctx) => StreamSetup.WithStreamsAsync(ctx, js => RunAsync(ctx, js));

    private static async Task<RunResult> RunAsync(ScenarioContext ctx, INatsJSContext js)
    {
        var o = ctx.Options;
        var hard = ctx.Limits.Hard;
        await using var pubs = await ClientSet.OpenAsync(o, "jspub", o.Pubs, hard);
        var latencies = Enumerable.Range(0, o.Pubs).Select(_ => new LatencyRecorder()).ToArray();
        var lastAck = new long[o.Pubs];
        await using var progress = ctx.Progress("js-pub-sync");
        using var phase = ctx.Limits.StartPublishPhase();
        var start = Clock.Now;
        var tasks = Enumerable.Range(0, o.Pubs).Select(p => Task.Run(async () =>
        {
            var pjs = new NatsJSContext(pubs[p]);
            var subject = StreamSetup.SubjectFor(p, o.Streams);
            var pacer = Pacer.ForShare(o.Rate, o.Pubs, start);
            var body = new PayloadSource(o.Size, stamp: false, p);
            var count = ctx.Limits.ShareOf(p, o.Pubs);
            for (long i = 0; i < count; i++)
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
                    var ack = await pjs.PublishAsync(subject, body.Next(0), cancellationToken: phase.Token);
                    var now = Clock.Now;
                    if (ack.Error is { } e)
                    {
                        ctx.Counters.NoteError($"publish ack error {e.Code}/{e.ErrCode} {e.Description}");
                        continue;
                    }
                    latencies[p].RecordSince(intended, now);
                    lastAck[p] = now;
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
                    ctx.Counters.NoteError($"publish failed: {ex.GetType().Name}: {ex.Message}");
                }
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        var end = lastAck.Max();
        return ctx.NewResult(0) with
        {
            Status = ctx.Counters.Errors == 0 ? RunStatus.Ok : RunStatus.Errors,
            Sent = ctx.Counters.Sent,
            Completed = ctx.Counters.Done,
            Errors = ctx.Counters.Errors,
            ElapsedSeconds = Clock.SecondsBetween(start, end > 0 ? end : Clock.Now),
            Measures = "publish acks (one in flight per publisher)",
            LatencyMeasures = "publish to ack",
            Latency = LatencyRecorder.Summarize(latencies),
            Message = ctx.Counters.FirstError,
        };
    }
}
