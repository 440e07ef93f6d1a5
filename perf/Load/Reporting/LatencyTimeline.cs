using System.Globalization;
using HdrHistogram;
using Platform.Load.Scenarios;

namespace Platform.Load.Reporting;

/// <summary>
/// Latencies per second of the run, by the second in which each outcome arrived, for the latency-over-time picture
/// (--timeline): a stall shows as the seconds it spoils instead of disappearing into the run's p99.
/// One per publisher loop like <see cref="LatencyRecorder"/>, merged at the end.
/// </summary>
internal sealed class LatencyTimeline
{
    // Per-second histograms need less range and precision than the run's: up to 60 s, two significant digits (1%),
    // about 40 KB each, so a 10-minute run with several publishers stays a few tens of MB.
    private const long Highest = 60_000_000_000;
    private readonly List<LongHistogram?> _seconds = [];
    // The client's own GC pause total when each second's first outcome arrived: a pause in the load generator delays
    // the acks it reads just as a server stall would, and the two must be told apart.
    private readonly List<TimeSpan> _pauseAtSecond = [];
    private long _startTick;
    private long _startUnixMs;

    /// <summary>Second 0 begins here: the start of the publish phase, after the connections are set up.</summary>
    public void StartAt(long tick)
    {
        _startTick = tick;
        _seconds.Add(null);
        _pauseAtSecond.Add(GC.GetTotalPauseDuration());
        // The wall clock of second 0, to line the seconds up with what the server recorded meanwhile (runtime counters).
        _startUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (long)(Clock.SecondsBetween(tick, Clock.Now) * 1000);
    }

    public void Record(long endTick, long nanos)
    {
        var second = (int)Math.Max(0, Clock.SecondsBetween(_startTick, endTick));
        while (_seconds.Count <= second)
        {
            _seconds.Add(null);
            _pauseAtSecond.Add(GC.GetTotalPauseDuration());
        }
        var histogram = _seconds[second] ??= new LongHistogram(1, Highest, 2);
        histogram.RecordValue(Math.Clamp(nanos, 1, Highest));
    }

    /// <summary>
    /// Writes one CSV row per second: second,count,p50_us,p99_us,p999_us,max_us,unix_ms,client_gc_ms (empty seconds
    /// have count 0; unix_ms is the wall clock at the second's start; client_gc_ms is how long this process's GC paused
    /// it from the second's first outcome (second 0: its start) to the next second's, the last second through the end).
    /// </summary>
    public static void WriteCsv(string path, IEnumerable<LatencyTimeline> timelines)
    {
        var merged = new List<LongHistogram?>();
        var pauses = new List<TimeSpan>();
        long startUnixMs = 0;
        var end = GC.GetTotalPauseDuration();
        foreach (var timeline in timelines)
        {
            // The process's pauses are counted once, from the timeline that saw each second first.
            for (var s = 0; s < timeline._pauseAtSecond.Count; s++)
            {
                while (pauses.Count <= s)
                    pauses.Add(TimeSpan.MaxValue);
                if (timeline._pauseAtSecond[s] < pauses[s])
                    pauses[s] = timeline._pauseAtSecond[s];
            }
            startUnixMs = startUnixMs == 0 ? timeline._startUnixMs : Math.Min(startUnixMs, timeline._startUnixMs);
            for (var s = 0; s < timeline._seconds.Count; s++)
            {
                if (timeline._seconds[s] is not { } histogram)
                    continue;
                while (merged.Count <= s)
                    merged.Add(null);
                (merged[s] ??= new LongHistogram(1, Highest, 2)).Add(histogram);
            }
        }
        using var writer = new StreamWriter(path);
        writer.WriteLine("second,count,p50_us,p99_us,p999_us,max_us,unix_ms,client_gc_ms");
        for (var s = 0; s < merged.Count; s++)
        {
            long unixMs = startUnixMs + s * 1000L;
            var gc = ClientPause(pauses, s, end);
            if (merged[s] is not { } h)
            {
                writer.WriteLine(FormattableString.Invariant($"{s},0,,,,,{unixMs},{gc:F1}"));
                continue;
            }
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{s},{h.TotalCount},{h.GetValueAtPercentile(50) / 1000.0:F1},{h.GetValueAtPercentile(99) / 1000.0:F1},{h.GetValueAtPercentile(99.9) / 1000.0:F1},{h.GetMaxValue() / 1000.0:F1},{unixMs},{gc:F1}"));
        }
    }

    /// <summary>Milliseconds of client GC pause from second <paramref name="s"/>'s first outcome to the next second's.</summary>
    private static double ClientPause(List<TimeSpan> pauses, int s, TimeSpan end)
    {
        if (s >= pauses.Count || pauses[s] == TimeSpan.MaxValue)
            return 0;
        var next = end;
        for (var n = s + 1; n < pauses.Count; n++)
        {
            if (pauses[n] != TimeSpan.MaxValue)
            {
                next = pauses[n];
                break;
            }
        }
        return (next - pauses[s]).TotalMilliseconds;
    }
}
