using NATS.Client.Core;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// Request/reply: --pubs requesters, each waiting for its reply before the next request, against one responder
/// in this process that echoes the payload. Latency is the full round trip. With --cluster-urls the responder is on
/// another node than the requesters, so each request and each reply crosses between nodes.
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
        await using var responderConn = await ClientSet.OpenAsync(ClusterNodes.Peer(o), "responder", 1, hard);
        await using var requesters = await ClientSet.OpenAsync(o, "requester", o.Pubs, hard);
        await using var sub = await responderConn[0].SubscribeCoreAsync<byte[]>(Subject, cancellationToken: hard);
        await responderConn[0].PingAsync(hard);
        using var stopResponder = CancellationTokenSource.CreateLinkedTokenSource(hard);
        var responder = RespondAsync(sub, stopResponder.Token);

        try
        {
            return await ClosedLoop.RunAsync(ctx, "request", p =>
            {
                var body = new PayloadSource(o.Size, stamp: false, p);
                return async ct =>
                {
                    await requesters[p].RequestAsync<ReadOnlyMemory<byte>, byte[]>(Subject, body.Next(0), replyOpts: ReplyOpts, cancellationToken: ct);
                    return null;
                };
            }, subs: 1, "replies received", "request round trip");
        }
        finally
        {
            await stopResponder.CancelAsync();
            await responder;
        }
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
