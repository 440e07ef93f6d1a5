using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// JetStream publish with a window of unacknowledged publishes per publisher (--window): the server's storage
/// throughput. Latency is publish to ack, from the intended send time when --rate is set. With --cluster-urls the
/// publishers connect to a node that is not the leader (home) of the first stream.
/// </summary>
/// <remarks>
/// Partitioned (js-pub-partitioned): one stream declared with --partitions partitions (the silo's extension, which
/// spreads the partitions' homes over the nodes), publishers spread round-robin over the nodes of --cluster-urls,
/// publisher p on subject load.0.p (the subjects of 3 publishers hash to 3 different partitions). A server without
/// partitions ignores the field, as nats-server 2.9.10 does: one stream on one node, which is what it can offer.
/// </remarks>
internal sealed class JsPubAsyncScenario(bool partitioned = false) : IScenario
{
    public string Name => partitioned ? "js-pub-partitioned" : "js-pub-async";

    public async Task<RunResult> RunAsync(ScenarioContext ctx)
    {
        var o = partitioned ? ctx.Options with { Streams = 1 } : ctx.Options;
        await using var control = await ClientSet.OpenAsync(o, "control", 1, ctx.Limits.Hard);
        var js = new NatsJSContext(control[0]);
        if (partitioned)
        {
            await StreamSetup.DeleteAsync(js, 1);
            await CreatePartitionedAsync(control[0], o.Partitions, ctx.Limits.Hard);
        }
        else
        {
            await StreamSetup.CreateAsync(js, o.Streams, o.Replicas, ctx.Limits.Hard);
        }
        try
        {
            var publishers = partitioned ? o : await ClusterNodes.AwayFromLeaderAsync(o, js, StreamSetup.StreamName(0), ctx.Limits.Hard);
            JsPublishPhase.Outcome r;
            await using (ctx.Progress(Name))
                r = await JsPublishPhase.RunAsync(publishers, ctx.Limits, ctx.Counters, stampPayload: false, recordLatency: true, spread: partitioned);
            return ctx.NewResult(0) with
            {
                Status = ctx.Counters.Errors == 0 ? RunStatus.Ok : RunStatus.Errors,
                Sent = r.Sent,
                Completed = r.Acked,
                Errors = ctx.Counters.Errors,
                ElapsedSeconds = Clock.SecondsBetween(r.Start, r.LastAck),
                Measures = $"publish acks (window {o.Window} per publisher{(partitioned ? $", {o.Partitions} partitions asked for" : "")})",
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

    /// <summary>NATS.Net's stream config has no partitions, so the create request is written by hand.</summary>
    private static async Task CreatePartitionedAsync(NatsConnection connection, int partitions, CancellationToken ct)
    {
        var name = StreamSetup.StreamName(0);
        var request = $$"""{"name":"{{name}}","subjects":["load.0.>"],"storage":"file","num_replicas":1,"partitions":{{partitions}}}""";
        var reply = await connection.RequestAsync<byte[], byte[]>($"$JS.API.STREAM.CREATE.{name}", Encoding.UTF8.GetBytes(request), cancellationToken: ct);
        using var answer = JsonDocument.Parse(reply.Data ?? []);
        if (answer.RootElement.TryGetProperty("error", out var error))
            throw new InvalidOperationException($"could not create stream {name} with {partitions} partitions: {error}");
    }
}
