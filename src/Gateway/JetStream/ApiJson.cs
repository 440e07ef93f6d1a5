using System.Text.Encodings.Web;
using System.Text.Json;

namespace Platform.Gateway.JetStream;

/// <summary>JSON helpers in the shapes nats-server writes.</summary>
internal static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Quote(string value) => JsonSerializer.Serialize(value, Options);

    /// <summary>Go's RFC3339Nano in UTC: nanoseconds with trailing zeros trimmed; the zero time for 0.</summary>
    public static string Time(long unixNanos)
    {
        if (unixNanos <= 0)
            return "0001-01-01T00:00:00Z";
        var seconds = DateTime.UnixEpoch.AddTicks(unixNanos / 1_000_000_000 * TimeSpan.TicksPerSecond);
        long fraction = unixNanos % 1_000_000_000;
        var text = seconds.ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        if (fraction == 0)
            return text + "Z";
        return text + "." + fraction.ToString("D9").TrimEnd('0') + "Z";
    }

    /// <summary>A duration in nanoseconds as Go's time.Until gives it: saturated at the largest, ~292 years.</summary>
    public static long Nanos(TimeSpan span) => span.Ticks > long.MaxValue / 100 ? long.MaxValue : span.Ticks * 100;

    /// <summary>As <see cref="Time(long)"/>, for times past 2262 too (a pause_until far ahead), where nanoseconds overflow.</summary>
    public static string Time(DateTime utc)
    {
        if (utc.Ticks <= DateTime.UnixEpoch.Ticks)
            return Time(0);
        long fraction = utc.Ticks % TimeSpan.TicksPerSecond;
        var text = utc.AddTicks(-fraction).ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        return fraction == 0 ? text + "Z" : text + "." + fraction.ToString("D7").TrimEnd('0') + "Z";
    }
}
