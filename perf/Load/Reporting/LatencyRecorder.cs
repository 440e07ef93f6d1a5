using HdrHistogram;
using Platform.Load.Scenarios;

namespace Platform.Load.Reporting;

/// <summary>
/// One HdrHistogram of latencies in nanoseconds. Not thread-safe on purpose: each publisher or subscriber loop
/// owns one and the scenario merges them at the end, so recording costs no locking on the hot path.
/// </summary>
internal sealed class LatencyRecorder
{
    // One hour is far beyond any run; three significant digits keep the error under 0.1%.
    private const long Highest = 3_600_000_000_000;
    private readonly LongHistogram _histogram = new(1, Highest, 3);

    public long Count => _histogram.TotalCount;

    /// <summary>The per-second view of the same latencies, when the run asked for one (--timeline).</summary>
    public LatencyTimeline? Timeline { get; init; }

    public void RecordSince(long startTick, long endTick)
    {
        var nanos = Clock.ToNanos(endTick - startTick);
        Record(nanos);
        Timeline?.Record(endTick, nanos);
    }

    public void Record(long nanos) => _histogram.RecordValue(Math.Clamp(nanos, 1, Highest));

    public static LatencySummary? Summarize(IEnumerable<LatencyRecorder> recorders)
    {
        var merged = new LongHistogram(1, Highest, 3);
        foreach (var r in recorders)
            merged.Add(r._histogram);
        if (merged.TotalCount == 0)
            return null;
        double Micros(double percentile) => merged.GetValueAtPercentile(percentile) / 1000.0;
        return new LatencySummary(
            merged.TotalCount,
            Micros(50), Micros(90), Micros(99), Micros(99.9),
            merged.GetMaxValue() / 1000.0,
            merged.GetMean() / 1000.0);
    }
}
