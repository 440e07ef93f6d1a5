using Platform.Load.Options;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>
/// Runs --pubs windowed async JetStream publishers, one connection each, spread round-robin over the streams.
/// Shared by the async publish scenario, the publish side of js-pubsub and the pre-fill of js-consume.
/// </summary>
internal static class JsPublishPhase
{
    internal sealed record Outcome(long Sent, long Acked, long Start, long PublishEnd, long LastAck, LatencySummary? Latency);

    /// <param name="spread">publishers spread round-robin over the nodes of --cluster-urls instead of all on --url</param>
    public static async Task<Outcome> RunAsync(LoadOptions o, RunLimits limits, LiveCounters counters, bool stampPayload, bool recordLatency,
        bool spread = false)
    {
        var hard = limits.Hard;
        await using var pubs = await ClientSet.OpenAsync(p => spread ? ClusterNodes.Spread(o, p) : o, "jspub", o.Pubs, hard);
        var latencies = Enumerable.Range(0, o.Pubs)
            .Select(_ => new LatencyRecorder { Timeline = o.TimelineFile is null ? null : new LatencyTimeline() })
            .ToArray();
        var publishers = Enumerable.Range(0, o.Pubs)
            .Select(p => new AsyncJsPublisher(pubs[p], StreamSetup.SubjectFor(p, o.Streams), o.Window, counters,
                recordLatency ? latencies[p] : null))
            .ToArray();

        foreach (var publisher in publishers)
            await publisher.PrepareAsync(hard);

        using var phase = limits.StartPublishPhase();
        var start = Clock.Now;
        foreach (var latency in latencies)
            latency.Timeline?.StartAt(start);
        var tasks = publishers.Select((publisher, p) => Task.Run(() => publisher.RunAsync(
            limits.ShareOf(p, o.Pubs), Pacer.ForShare(o.Rate, o.Pubs, start), new PayloadSource(o.Size, stampPayload, p),
            phase.Token, limits.Drain, hard))).ToArray();
        var sentEach = await Task.WhenAll(tasks);
        var publishEnd = Clock.Now;
        var lastAck = publishers.Max(p => p.LastAckTick);
        if (recordLatency && o.TimelineFile is { } timeline)
            LatencyTimeline.WriteCsv(timeline, latencies.Select(l => l.Timeline!));
        return new Outcome(sentEach.Sum(), publishers.Sum(p => p.Acked), start, publishEnd,
            lastAck > 0 ? lastAck : publishEnd, LatencyRecorder.Summarize(latencies));
    }

    /// <summary>What a backlog scenario's untimed pre-fill stored, how fast, and its first publish error if any.</summary>
    internal sealed record Prefill(long Stored, string Description, string? FirstError);

    /// <summary>
    /// Fills the streams for the backlog scenarios as fast as they take it, untimed; storing nothing fails the run.
    /// </summary>
    public static async Task<Prefill> PrefillAsync(ScenarioContext ctx)
    {
        var counters = new LiveCounters();
        Outcome fill;
        await using (ctx.Progress("prefill", counters))
            fill = await RunAsync(ctx.Options with { Rate = null }, ctx.Limits, counters, stampPayload: false, recordLatency: false);
        if (fill.Acked == 0)
            throw new InvalidOperationException($"pre-fill stored nothing: {counters.FirstError ?? "no publish was acked"}");
        double rate = fill.Acked / Math.Max(1e-9, Clock.SecondsBetween(fill.Start, fill.LastAck));
        return new Prefill(fill.Acked, $"pre-filled {fill.Acked:N0} messages at {rate:N0} msgs/s", counters.FirstError);
    }
}
