using System.Globalization;
using System.Text;

namespace Platform.Load.Reporting;

/// <summary>The human-readable summary printed at the end of a run.</summary>
internal static class TableReport
{
    public static string Render(RunResult r)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        void Row(string name, string value) => sb.Append(c, $"  {name,-16} {value}\n");

        sb.Append(c, $"\n{r.Scenario} against {r.Url}: {r.Status.ToString().ToUpperInvariant()}\n");
        Row("payload", $"{r.Size} B");
        Row("clients", $"{r.Pubs} pub, {r.Subs} sub, {r.Streams} stream(s)");
        if (r.TargetRate is { } rate)
            Row("target rate", string.Format(c, "{0:N0} msgs/s (latency from intended send time)", rate));
        Row("sent", r.Sent.ToString("N0", c));
        Row("completed", r.Measures is null ? r.Completed.ToString("N0", c) : string.Format(c, "{0:N0}  ({1})", r.Completed, r.Measures));
        Row("errors/lost", r.Errors.ToString("N0", c));
        Row("elapsed", string.Format(c, "{0:F2} s", r.ElapsedSeconds));
        Row("throughput", string.Format(c, "{0:N0} msgs/s   {1:F2} MB/s", r.MsgsPerSec, r.MBPerSec));
        if (r.Latency is { } l)
        {
            sb.Append(c, $"  latency ({r.LatencyMeasures}, {l.Count:N0} samples, µs):\n");
            sb.Append(c, $"    {"p50",10} {"p90",10} {"p99",10} {"p99.9",10} {"max",10} {"mean",10}\n");
            sb.Append(c, $"    {l.P50,10:F1} {l.P90,10:F1} {l.P99,10:F1} {l.P999,10:F1} {l.Max,10:F1} {l.Mean,10:F1}\n");
        }
        else
        {
            Row("latency", "n/a" + (r.LatencyMeasures is null ? "" : $" ({r.LatencyMeasures})"));
        }
        if (r.ServerCpuSeconds is { } cpu)
            Row("server", string.Format(c, "{0:F2} CPU s during the run, peak RSS {1:N0} kB", cpu, r.ServerPeakRssKb));
        if (r.Message is not null)
            Row("note", r.Message);
        return sb.ToString();
    }
}
