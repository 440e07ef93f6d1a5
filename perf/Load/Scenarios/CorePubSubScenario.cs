using NATS.Client.Core;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// Core publish to --subs subscribers on one subject: 1:1 with one subscriber, fan-out 1:N with more (each
/// subscriber gets every message). Throughput counts deliveries; latency is publish-to-receive, measured from the
/// send tick stamped into each payload (payloads of 8 bytes or more). With --cluster-urls the subscribers are on
/// another node than the publishers.
/// </summary>
internal sealed class CorePubSubScenario : IScenario
{
    private const string Subject = "load.core.fan";

    public string Name => "pubsub";

    public async Task<RunResult> RunAsync(ScenarioContext ctx)
    {
        var o = ctx.Options;
        var hard = ctx.Limits.Hard;
        await using var subConns = await ClientSet.OpenAsync(ClusterNodes.Peer(o), "sub", o.Subs, hard);
        await using var pubs = await ClientSet.OpenAsync(o, "pub", o.Pubs, hard);

        var subs = new List<INatsSub<byte[]>>();
        for (var s = 0; s < o.Subs; s++)
        {
            subs.Add(await subConns[s].SubscribeCoreAsync<byte[]>(Subject, cancellationToken: hard));
            // The PING round trip means the server has registered the subscription before anything is published.
            await subConns[s].PingAsync(hard);
        }

        var latencies = subs.Select(_ => new LatencyRecorder()).ToArray();
        var lastReceive = new long[o.Subs];
        using var stopSubs = CancellationTokenSource.CreateLinkedTokenSource(hard);
        var readers = subs.Select((sub, s) => ReadAsync(sub, latencies[s], lastReceive, s, ctx.Counters, stopSubs.Token)).ToArray();

        await using (ctx.Progress("pubsub"))
        {
            using var phase = ctx.Limits.StartPublishPhase();
            var start = Clock.Now;
            var publishers = Enumerable.Range(0, o.Pubs).Select(p => Task.Run(async () =>
            {
                var pacer = Pacer.ForShare(o.Rate, o.Pubs, start);
                var body = new PayloadSource(o.Size, stamp: true, p);
                var count = ctx.Limits.ShareOf(p, o.Pubs);
                try
                {
                    for (long i = 0; i < count; i++)
                    {
                        var intended = await pacer.WaitForTurnAsync(i, phase.Token);
                        await pubs[p].PublishAsync(Subject, body.Next(intended), cancellationToken: phase.Token);
                        ctx.Counters.AddSent();
                    }
                }
                catch (OperationCanceledException) when (phase.IsCancellationRequested)
                {
                }
                await pubs[p].PingAsync(hard);
            })).ToArray();
            await Task.WhenAll(publishers);
            var publishEnd = Clock.Now;
            var expected = ctx.Counters.Sent * o.Subs;
            // Core NATS does not redeliver: once deliveries stop for two seconds the rest are lost, not late.
            await DrainWaiter.UntilAsync(() => ctx.Counters.Done >= expected, () => ctx.Counters.Done,
                ctx.Limits.Drain, TimeSpan.FromSeconds(2), hard);
            await stopSubs.CancelAsync();
            await Task.WhenAll(readers);
            foreach (var sub in subs)
                await sub.DisposeAsync();

            var end = lastReceive.Max();
            var delivered = ctx.Counters.Done;
            var lost = Math.Max(0, expected - delivered);
            return ctx.NewResult(o.Subs) with
            {
                Status = lost == 0 ? RunStatus.Ok : RunStatus.Errors,
                Sent = ctx.Counters.Sent,
                Completed = delivered,
                Errors = lost,
                ElapsedSeconds = Clock.SecondsBetween(start, end > 0 ? end : publishEnd),
                Measures = o.Subs == 1 ? "deliveries" : $"deliveries, fan-out to {o.Subs} subscribers",
                LatencyMeasures = Payload.CanStamp(o.Size) ? "publish to receive" : "payload under 8 bytes carries no send time",
                Latency = LatencyRecorder.Summarize(latencies),
                Message = $"published {ctx.Counters.Sent / Math.Max(1e-9, Clock.SecondsBetween(start, publishEnd)):N0} msgs/s"
                          + (lost > 0 ? $"; {lost:N0} deliveries missing (dropped by the server or slow-consumer cut-off)" : ""),
            };
        }
    }

    private static async Task ReadAsync(INatsSub<byte[]> sub, LatencyRecorder latency, long[] lastReceive, int index, LiveCounters counters, CancellationToken ct)
    {
        var reader = sub.Msgs;
        try
        {
            while (await reader.WaitToReadAsync(ct))
            {
                while (reader.TryRead(out var msg))
                {
                    var now = Clock.Now;
                    if (Payload.TryReadStamp(msg.Data, out var sentTick))
                        latency.RecordSince(sentTick, now);
                    lastReceive[index] = now;
                    counters.AddDone();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
