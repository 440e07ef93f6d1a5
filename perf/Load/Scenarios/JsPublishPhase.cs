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

    public static async Task<Outcome> RunAsync(LoadOptions o, RunLimits limits, LiveCounters counters, bool stampPayload, bool recordLatency)
    {
        var hard = limits.Hard;
        await using var pubs = await ClientSet.OpenAsync(o, "jspub", o.Pubs, hard);
        var latencies = Enumerable.Range(0, o.Pubs).Select(_ => new LatencyRecorder()).ToArray();
        var publishers = Enumerable.Range(0, o.Pubs)
            .Select(p => new AsyncJsPublisher(pubs[p], StreamSetup.SubjectFor(p, o.Streams), o.Window, counters,
                recordLatency ? latencies[p] : null))
            .ToArray();

        foreach (var publisher in publishers)
            await publisher.PrepareAsync(hard);

        using var phase = limits.StartPublishPhase();
        var start = Clock.Now;
        var tasks = publishers.Select((publisher, p) => Task.Run(() => publisher.RunAsync(
            limits.ShareOf(p, o.Pubs), Pacer.ForShare(o.Rate, o.Pubs, start), new PayloadSource(o.Size, stampPayload, p),
            phase.Token, limits.Drain, hard))).ToArray();
        var sentEach = await Task.WhenAll(tasks);
        var publishEnd = Clock.Now;
        var lastAck = publishers.Max(p => p.LastAckTick);
        return new Outcome(sentEach.Sum(), publishers.Sum(p => p.Acked), start, publishEnd,
            lastAck > 0 ? lastAck : publishEnd, LatencyRecorder.Summarize(latencies));
    }
}
