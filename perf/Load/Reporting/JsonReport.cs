using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.Load.Reporting;

/// <summary>Writes a result as JSON for scripts (the compare harness reads it with jq).</summary>
internal static class JsonReport
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static void Write(string path, RunResult result)
    {
        // The computed throughput fields are part of the record so readers need not redo the arithmetic.
        var json = JsonSerializer.Serialize(new
        {
            result.Scenario,
            result.Url,
            result.Label,
            Status = result.Status,
            result.Size,
            result.Pubs,
            result.Subs,
            result.Streams,
            result.TargetRate,
            result.Sent,
            result.Completed,
            result.Errors,
            result.ElapsedSeconds,
            result.MsgsPerSec,
            result.MBPerSec,
            result.Measures,
            result.LatencyMeasures,
            LatencyUs = result.Latency,
            result.Message,
            result.ServerCpuSeconds,
            result.ServerPeakRssKb,
        }, Options);
        File.WriteAllText(path, json + "\n");
    }
}
