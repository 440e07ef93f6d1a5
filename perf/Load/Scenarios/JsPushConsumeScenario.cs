using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// Push-consume a backlog: pre-fill the streams as js-consume does (not timed), then subscribe to a deliver subject
/// per stream, create a push consumer on each, and time how long the whole backlog takes to arrive. With ack none
/// the server streams freely; with explicit acks every delivery is acked as it arrives and the server may have
/// <see cref="MaxAckPending"/> unacked at a time, so the run measures the ack round trip as well.
/// </summary>
internal sealed class JsPushConsumeScenario(bool explicitAcks = false) : IScenario
{
    /// <summary>Set on the consumer rather than left to each server's default, so both run the same window.</summary>
    private const int MaxAckPending = 1000;

    public string Name => explicitAcks ? "js-push-ack" : "js-push";

    public bool ConsumesBacklog => true;

    public Task<RunResult> RunAsync(ScenarioContext ctx) => StreamSetup.WithStreamsAsync(ctx, js => RunAsync(ctx, js));

    private async Task<RunResult> RunAsync(ScenarioContext ctx, INatsJSContext js)
    {
        var o = ctx.Options;
        var hard = ctx.Limits.Hard;
        var prefill = await JsPublishPhase.PrefillAsync(ctx);
        long stored = prefill.Stored;

        await using var receivers = await ClientSet.OpenAsync(o, "jspush", o.Streams, hard);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(hard);
        long lastReceive = 0;
        var loops = new List<Task>();
        for (int i = 0; i < o.Streams; i++)
        {
            var receiver = receivers[i];
            var sub = await receiver.SubscribeCoreAsync<NatsMemoryOwner<byte>>($"_LOADPUSH.{i}", cancellationToken: hard);
            loops.Add(Task.Run(async () =>
            {
                try
                {
                    await foreach (var msg in sub.Msgs.ReadAllAsync(stop.Token))
                    {
                        msg.Data.Dispose();
                        if (explicitAcks && msg.ReplyTo is { } ackSubject)
                            await receiver.PublishAsync(ackSubject, cancellationToken: stop.Token);
                        ctx.Counters.AddDone();
                        Interlocked.Exchange(ref lastReceive, Clock.Now);
                    }
                }
                catch (OperationCanceledException)
                {
                }
                finally
                {
                    await sub.DisposeAsync();
                }
            }));
            await receivers[i].PingAsync(hard);
        }
        long start;
        await using (ctx.Progress("consume"))
        {
            start = Clock.Now;
            for (int i = 0; i < o.Streams; i++)
            {
                try
                {
                    var config = new ConsumerConfig("loadpush")
                    {
                        DeliverSubject = $"_LOADPUSH.{i}",
                        AckPolicy = explicitAcks ? ConsumerConfigAckPolicy.Explicit : ConsumerConfigAckPolicy.None,
                        DeliverPolicy = ConsumerConfigDeliverPolicy.All,
                    };
                    if (explicitAcks)
                        config.MaxAckPending = MaxAckPending;
                    await js.CreateOrUpdateConsumerAsync(StreamSetup.StreamName(i), config, hard);
                }
                catch (NatsJSApiException api)
                {
                    throw new ScenarioUnsupportedException($"push consumer refused: {api.Error.Code}/{api.Error.ErrCode} {api.Error.Description}");
                }
            }
            await DrainWaiter.UntilAsync(() => ctx.Counters.Done >= stored, () => ctx.Counters.Done,
                TimeSpan.FromSeconds(o.MaxTime), ctx.Limits.Drain, hard);
        }
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        var consumed = ctx.Counters.Done;
        var missing = Math.Max(0, stored - consumed);
        long end = Interlocked.Read(ref lastReceive);
        return ctx.NewResult(o.Streams) with
        {
            Status = missing == 0 ? RunStatus.Ok : RunStatus.Errors,
            Sent = stored,
            Completed = consumed,
            Errors = missing,
            ElapsedSeconds = Clock.SecondsBetween(start, end > 0 ? end : Clock.Now),
            Measures = $"backlog messages pushed with ack {(explicitAcks ? "explicit, each acked on arrival" : "none")} ({o.Streams} push consumer(s))",
            LatencyMeasures = "backlog consume: messages were stored before timing began",
            Message = prefill.Description + (missing > 0 ? $"; {missing:N0} not received" : ""),
        };
    }
}
