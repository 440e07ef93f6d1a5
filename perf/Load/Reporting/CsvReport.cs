using System.Globalization;

namespace Platform.Load.Reporting;

/// <summary>Appends a result as one CSV row, so repeated runs accumulate in one file for a spreadsheet.</summary>
internal static class CsvReport
{
    private const string Header =
        "scenario,label,url,status,size,pubs,subs,streams,target_rate,sent,completed,errors,elapsed_s,msgs_per_s,mb_per_s," +
        "lat_p50_us,lat_p90_us,lat_p99_us,lat_p999_us,lat_max_us,server_cpu_s,server_peak_rss_kb,message";

    public static void Append(string path, RunResult r)
    {
        var c = CultureInfo.InvariantCulture;
        var l = r.Latency;
        string N(double? v) => v?.ToString("F1", c) ?? "";
        var row = string.Join(',',
            r.Scenario, Quote(r.Label), Quote(r.Url), r.Status.ToString().ToLowerInvariant(),
            r.Size.ToString(c), r.Pubs.ToString(c), r.Subs.ToString(c), r.Streams.ToString(c), N(r.TargetRate),
            r.Sent.ToString(c), r.Completed.ToString(c), r.Errors.ToString(c), r.ElapsedSeconds.ToString("F3", c),
            r.MsgsPerSec.ToString("F1", c), r.MBPerSec.ToString("F3", c),
            N(l?.P50), N(l?.P90), N(l?.P99), N(l?.P999), N(l?.Max), r.ServerCpuSeconds?.ToString("F2", c) ?? "",
            r.ServerPeakRssKb?.ToString(c) ?? "", Quote(r.Message));
        var fresh = !File.Exists(path) || new FileInfo(path).Length == 0;
        File.AppendAllText(path, (fresh ? Header + "\n" : "") + row + "\n");
    }

    private static string Quote(string? text) =>
        text is null ? "" : "\"" + text.Replace("\"", "\"\"").ReplaceLineEndings(" ") + "\"";
}
