using NATS.Client.Core;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// Request/reply: --pubs requesters, each waiting for its reply before the next request, against one responder
/// in this process that echoes the payload. Latency is the full round trip.
/// </summary>
internal sealed class RequestReplyScenario : IScenario
{
    private const string Subject = "load.rr";
    private static readonly NatsSubOpts ReplyOpts = new() { Timeout = TimeSpan.FromSeconds(5) };

    public string Name => "reqrep";

    public async Task<RunResult> RunAsync(ScenarioContext ctx)
    {
        var o = ctx.Options;
        var hard = ctx.Limits.Hard;
        await using var responderConn = await ClientSet.OpenAsync(o, "responder", 1, hard);
        await using var requesters = await ClientSet.OpenAsync(o, "requester", o.Pubs, hard);
        await using var sub = await responderConn[0].SubscribeCoreAsync<byte[]>(Subject, cancellationToken: hard);
        await responderConn[0].PingAsync(hard);
        using var stopResponder = CancellationTokenSource.CreateLinkedTokenSource(hard);
        var responder = RespondAsync(sub, stopResponder.Token);

        var latencies = Enumerable.Range(0, o.Pubs).Select(_ => new LatencyRecorder()).ToArray();
        var lastReply = new long[o.Pubs];
        await using var progress = ctx.Progress("reqrep");
        using var phase = ctx.Limits.StartPublishPhase();
        var start = Clock.Now;
        var tasks = Enumerable.Range(0, o.Pubs).Select(p => Task.Run(async () =>
        {
            var pacer = Pacer.ForShare(o.Rate, o.Pubs, start);
            var body = new PayloadSource(o.Size, stamp: false, p);
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
                    await requesters[p].RequestAsync<ReadOnlyMemory<byte>, byte[]>(Subject, body.Next(0), replyOpts: ReplyOpts, cancellationToken: phase.Token);
                    var now = Clock.Now;
                    latencies[p].RecordSince(intended, now);
                    lastReply[p] = now;
                    ctx.Counters.AddDone();
                }
                catch (OperationCanceledException) when (phase.IsCancellationRequested)
                {
                    // A request cut short by the end of the phase is neither answered nor an error.
                    ctx.Counters.AddSent(-1);
                    break;
                }
                catch (Exception ex) when (ex is NatsException or TimeoutException or OperationCanceledException)
                {
                    ctx.Counters.NoteError($"request failed: {ex.GetType().Name}: {ex.Message}");
                }
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        var end = lastReply.Max();
        await stopResponder.CancelAsync();
        await responder;
        return ctx.NewResult(1) with
        {
            Status = ctx.Counters.Errors == 0 ? RunStatus.Ok : RunStatus.Errors,
            Sent = ctx.Counters.Sent,
            Completed = ctx.Counters.Done,
            Errors = ctx.Counters.Errors,
            ElapsedSeconds = Clock.SecondsBetween(start, end > 0 ? end : Clock.Now),
            Measures = "replies received",
            LatencyMeasures = "request round trip",
            Latency = LatencyRecorder.Summarize(latencies),
            Message = ctx.Counters.FirstError,
        };
    }

    private static async Task RespondAsync(INatsSub<byte[]> sub, CancellationToken ct)
    {
        try
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync(ct))
                await msg.ReplyAsync(msg.Data, cancellationToken: ct);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
