using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// Push-consume a backlog with ack none: pre-fill the streams as js-consume does (not timed), then subscribe to a
/// deliver subject per stream, create a push consumer on each, and time how long the whole backlog takes to arrive.
/// </summary>
internal sealed class JsPushConsumeScenario : IScenario
{
    public string Name => "js-push";

    public Task<RunResult> RunAsync(ScenarioContext ctx) => StreamSetup.WithStreamsAsync(ctx, js => RunAsync(ctx, js));

    private static async Task<RunResult> RunAsync(ScenarioContext ctx, INatsJSContext js)
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
            var sub = await receivers[i].SubscribeCoreAsync<NatsMemoryOwner<byte>>($"_LOADPUSH.{i}", cancellationToken: hard);
            loops.Add(Task.Run(async () =>
            {
                try
                {
                    await foreach (var msg in sub.Msgs.ReadAllAsync(stop.Token))
                    {
                        msg.Data.Dispose();
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
                    await js.CreateOrUpdateConsumerAsync(StreamSetup.StreamName(i), new ConsumerConfig("loadpush")
                    {
                        DeliverSubject = $"_LOADPUSH.{i}",
                        AckPolicy = ConsumerConfigAckPolicy.None,
                        DeliverPolicy = ConsumerConfigDeliverPolicy.All,
                    }, hard);
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
            Measures = $"backlog messages pushed with ack none ({o.Streams} push consumer(s))",
            LatencyMeasures = "backlog consume: messages were stored before timing began",
            Message = prefill.Description + (missing > 0 ? $"; {missing:N0} not received" : ""),
        };
    }
}
