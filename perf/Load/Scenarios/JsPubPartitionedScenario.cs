using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// JetStream async publish to one stream declared with --partitions partitions (the silo's extension, which spreads
/// the partitions' homes over the nodes), --pubs publishers spread round-robin over the nodes of --cluster-urls,
/// publisher p on subject load.0.p (the subjects of 3 publishers hash to 3 different partitions). A server without
/// partitions ignores the field, as nats-server 2.9.10 does: one stream on one node, which is what it can offer.
/// </summary>
internal sealed class JsPubPartitionedScenario : IScenario
{
    public string Name => "js-pub-partitioned";

    public async Task<RunResult> RunAsync(ScenarioContext ctx)
    {
        var o = ctx.Options with { Streams = 1 };
        var hard = ctx.Limits.Hard;
        await using var control = await ClientSet.OpenAsync(o, "control", 1, hard);
        var js = new NatsJSContext(control[0]);
        await StreamSetup.DeleteAsync(js, 1);
        await CreateAsync(control[0], o.Partitions, hard);
        try
        {
            JsPublishPhase.Outcome r;
            await using (ctx.Progress("js-pub-partitioned"))
                r = await JsPublishPhase.RunAsync(o, ctx.Limits, ctx.Counters, stampPayload: false, recordLatency: true, spread: true);
            return ctx.NewResult(0) with
            {
                Status = ctx.Counters.Errors == 0 ? RunStatus.Ok : RunStatus.Errors,
                Sent = r.Sent,
                Completed = r.Acked,
                Errors = ctx.Counters.Errors,
                ElapsedSeconds = Clock.SecondsBetween(r.Start, r.LastAck),
                Measures = $"publish acks (window {o.Window} per publisher, {o.Partitions} partitions asked for)",
                LatencyMeasures = "publish to ack",
                Latency = r.Latency,
                Message = ctx.Counters.FirstError,
            };
        }
        finally
        {
            if (!o.Keep)
                await StreamSetup.DeleteAsync(js, 1);
        }
    }

    /// <summary>NATS.Net's stream config has no partitions, so the create request is written by hand.</summary>
    private static async Task CreateAsync(NatsConnection connection, int partitions, CancellationToken ct)
    {
        var name = StreamSetup.StreamName(0);
        var request = $$"""{"name":"{{name}}","subjects":["load.0.>"],"storage":"file","num_replicas":1,"partitions":{{partitions}}}""";
        var reply = await connection.RequestAsync<byte[], byte[]>($"$JS.API.STREAM.CREATE.{name}", Encoding.UTF8.GetBytes(request), cancellationToken: ct);
        using var answer = JsonDocument.Parse(reply.Data ?? []);
        if (answer.RootElement.TryGetProperty("error", out var error))
            throw new InvalidOperationException($"could not create stream {name} with {partitions} partitions: {error}");
    }
}
