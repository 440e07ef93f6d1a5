using System.Globalization;

namespace Platform.Gateway;

/// <summary>Durations as nats-server writes them in configuration: "2m", "500ms", "1h30m".</summary>
internal static class Durations
{
    public static bool TryParse(string text, out TimeSpan span)
    {
        span = TimeSpan.Zero;
        int i = 0;
        if (text.Length == 0) return false;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && (char.IsDigit(text[i]) || text[i] == '.')) i++;
            if (start == i || !double.TryParse(text.AsSpan(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
                return false;
            int unitStart = i;
            while (i < text.Length && char.IsLetter(text[i])) i++;
            span += text[unitStart..i] switch
            {
                "ns" => TimeSpan.FromTicks((long)(n / 100)),
                "us" or "µs" => TimeSpan.FromTicks((long)(n * 10)),
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                _ => TimeSpan.MinValue,
            };
            if (span < TimeSpan.Zero) return false;
        }
        return true;
    }
}
