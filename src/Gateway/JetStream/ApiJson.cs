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

    public static string Time(DateTime utc) => Time((utc.Ticks - DateTime.UnixEpoch.Ticks) * 100);
}
