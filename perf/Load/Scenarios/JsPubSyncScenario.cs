using NATS.Client.JetStream;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// JetStream publish awaiting each ack before the next publish, through NATS.Net's own JetStream publish:
/// the per-message round trip through the server's storage path, what a careful application sees. With
/// --cluster-urls the publishers connect to a node that is not the leader (home) of the first stream, as js-pub-async's.
/// </summary>
internal sealed class JsPubSyncScenario : IScenario
{
    public string Name => "js-pub-sync";

    public Task<RunResult> RunAsync(ScenarioContext ctx) => StreamSetup.WithStreamsAsync(ctx, js => RunAsync(ctx, js));

    private static async Task<RunResult> RunAsync(ScenarioContext ctx, INatsJSContext js)
    {
        var o = await ClusterNodes.AwayFromLeaderAsync(ctx.Options, js, StreamSetup.StreamName(0), ctx.Limits.Hard);
        await using var pubs = await ClientSet.OpenAsync(o, "jspub", o.Pubs, ctx.Limits.Hard);
        return await ClosedLoop.RunAsync(ctx, "publish", p =>
        {
            var pjs = new NatsJSContext(pubs[p]);
            var subject = StreamSetup.SubjectFor(p, o.Streams);
            var body = new PayloadSource(o.Size, stamp: false, p);
            return async ct =>
            {
                var ack = await pjs.PublishAsync(subject, body.Next(0), cancellationToken: ct);
                return ack.Error is { } e ? $"publish ack error {e.Code}/{e.ErrCode} {e.Description}" : null;
            };
        }, subs: 0, "publish acks (one in flight per publisher)", "publish to ack");
    }
}
