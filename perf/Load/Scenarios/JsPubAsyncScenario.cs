using NATS.Client.JetStream;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// JetStream publish with a window of unacknowledged publishes per publisher (--window): the server's storage
/// throughput. Latency is publish to ack, from the intended send time when --rate is set. With --cluster-urls the
/// publishers connect to a node that is not the leader (home) of the first stream.
/// </summary>
internal sealed class JsPubAsyncScenario : IScenario
{
    public string Name => "js-pub-async";

    public async Task<RunResult> RunAsync(ScenarioContext ctx)
    {
        var o = ctx.Options;
        await using var control = await ClientSet.OpenAsync(o, "control", 1, ctx.Limits.Hard);
        var js = new NatsJSContext(control[0]);
        await StreamSetup.CreateAsync(js, o.Streams, ctx.Limits.Hard);
        try
        {
            var publishers = await ClusterNodes.AwayFromLeaderAsync(o, js, StreamSetup.StreamName(0), ctx.Limits.Hard);
            JsPublishPhase.Outcome r;
            await using (ctx.Progress("js-pub-async"))
                r = await JsPublishPhase.RunAsync(publishers, ctx.Limits, ctx.Counters, stampPayload: false, recordLatency: true);
            return ctx.NewResult(0) with
            {
                Status = ctx.Counters.Errors == 0 ? RunStatus.Ok : RunStatus.Errors,
                Sent = r.Sent,
                Completed = r.Acked,
                Errors = ctx.Counters.Errors,
                ElapsedSeconds = Clock.SecondsBetween(r.Start, r.LastAck),
                Measures = $"publish acks (window {o.Window} per publisher)",
                LatencyMeasures = "publish to ack",
                Latency = r.Latency,
                Message = ctx.Counters.FirstError,
            };
        }
        finally
        {
            if (!o.Keep)
                await StreamSetup.DeleteAsync(js, o.Streams);
        }
    }
}
