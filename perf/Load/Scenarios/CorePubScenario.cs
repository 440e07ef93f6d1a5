using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// Core publish with no subscriber: how fast the server swallows PUBs. The final PING round trip is inside the
/// measured time, so the rate counts only messages the server has actually read, not ones buffered in the client.
/// </summary>
internal sealed class CorePubScenario : IScenario
{
    public string Name => "pub";

    public async Task<RunResult> RunAsync(ScenarioContext ctx)
    {
        var o = ctx.Options;
        await using var pubs = await ClientSet.OpenAsync(o, "pub", o.Pubs, ctx.Limits.Hard);
        await using var progress = ctx.Progress("pub");
        using var phase = ctx.Limits.StartPublishPhase();
        var start = Clock.Now;
        var tasks = Enumerable.Range(0, o.Pubs).Select(p => Task.Run(async () =>
        {
            var conn = pubs[p];
            var body = new PayloadSource(o.Size, stamp: false, p);
            var pacer = Pacer.ForShare(o.Rate, o.Pubs, start);
            var count = ctx.Limits.ShareOf(p, o.Pubs);
            try
            {
                for (long i = 0; i < count; i++)
                {
                    await pacer.WaitForTurnAsync(i, phase.Token);
                    await conn.PublishAsync("load.core.pub", body.Next(0), cancellationToken: phase.Token);
                    ctx.Counters.AddSent();
                    ctx.Counters.AddDone();
                }
            }
            catch (OperationCanceledException) when (phase.IsCancellationRequested)
            {
            }
            await conn.PingAsync(ctx.Limits.Hard);
        })).ToArray();
        await Task.WhenAll(tasks);
        var end = Clock.Now;
        return ctx.NewResult(0) with
        {
            Status = RunStatus.Ok,
            Sent = ctx.Counters.Sent,
            Completed = ctx.Counters.Done,
            ElapsedSeconds = Clock.SecondsBetween(start, end),
            Measures = "publishes read by the server (flushed with a PING)",
            LatencyMeasures = "core publish has no acknowledgement to time",
        };
    }
}
