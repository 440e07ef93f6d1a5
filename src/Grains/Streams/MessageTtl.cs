using System.Text;

namespace Platform.Grains.Streams;

/// <summary>
/// The Nats-TTL header of 2.11 (ADR-43) as nats-server reads it: "never", a Go duration of at least a second ("90s",
/// "1h30m"), or whole seconds ("30"). Read from the header's bytes without allocating.
/// </summary>
internal static class MessageTtl
{
    /// <summary>The message never expires, not even by the stream's max_age.</summary>
    public const long Never = -1;

    private const long NanosPerSecond = 1_000_000_000;

    /// <summary>False for a value nats-server refuses; else the TTL in seconds, <see cref="Never"/>, or 0 for none.</summary>
    public static bool TryParse(ReadOnlySpan<byte> value, out long seconds)
    {
        seconds = 0;
        if (value.IsEmpty)
            return true;
        if (Ascii.EqualsIgnoreCase(value, "never"u8))
        {
            seconds = Never;
            return true;
        }
        if (TryParseGoDuration(value, out long nanos))
        {
            // Whole seconds, truncated, as nats-server stores it; under a second is refused, so zero ("0s") is too.
            seconds = nanos / NanosPerSecond;
            return nanos >= NanosPerSecond;
        }
        // nats-server's fallback: plain decimal digits are seconds, anything else (a sign too) is refused.
        long whole = 0;
        foreach (byte b in value)
        {
            if (b is < (byte)'0' or > (byte)'9' || whole > (long.MaxValue - 9) / 10)
                return false;
            whole = whole * 10 + (b - '0');
        }
        seconds = whole;
        return true;
    }

    /// <summary>The header block with its Nats-TTL line replaced by one of <paramref name="seconds"/>.</summary>
    public static byte[] Replace(ReadOnlySpan<byte> headers, long seconds)
    {
        var text = Encoding.Latin1.GetString(headers);
        int start = text.IndexOf("\r\nNats-TTL:", StringComparison.Ordinal);
        if (start >= 0)
            text = text[..start] + text[text.IndexOf("\r\n", start + 2, StringComparison.Ordinal)..];
        return Encoding.Latin1.GetBytes($"{text[..^4]}\r\nNats-TTL: {seconds}\r\n\r\n");
    }

    /// <summary>Whole seconds as Go's time.Duration prints them ("2s", "1m0s", "1h30m0s"), as nats-server writes marker TTLs.</summary>
    public static string GoDuration(long seconds)
    {
        long hours = seconds / 3600, minutes = seconds / 60 % 60, rest = seconds % 60;
        return hours > 0 ? $"{hours}h{minutes}m{rest}s" : minutes > 0 ? $"{minutes}m{rest}s" : $"{rest}s";
    }

    /// <summary>Go's time.ParseDuration: an optional sign, then number-unit pairs; "0" alone needs no unit.</summary>
    private static bool TryParseGoDuration(ReadOnlySpan<byte> text, out long nanos)
    {
        nanos = 0;
        bool negative = false;
        if (text is [(byte)'-' or (byte)'+', ..])
        {
            negative = text[0] == '-';
            text = text[1..];
        }
        if (text is [(byte)'0'])
            return true;
        if (text.IsEmpty)
            return false;
        double total = 0;
        while (!text.IsEmpty)
        {
            int digits = 0;
            double number = 0, scale = 1;
            bool fraction = false;
            int i = 0;
            for (; i < text.Length; i++)
            {
                byte b = text[i];
                if (b == '.' && !fraction)
                {
                    fraction = true;
                    continue;
                }
                if (b is < (byte)'0' or > (byte)'9')
                    break;
                digits++;
                if (fraction)
                    number += (b - '0') * (scale /= 10);
                else
                    number = number * 10 + (b - '0');
            }
            if (digits == 0)
                return false;
            text = text[i..];
            int unitLength = 0;
            while (unitLength < text.Length && text[unitLength] is not ((>= (byte)'0' and <= (byte)'9') or (byte)'.'))
                unitLength++;
            double unit = Unit(text[..unitLength]);
            if (unit == 0)
                return false;
            total += number * unit;
            text = text[unitLength..];
        }
        if (total > long.MaxValue)
            return false;
        nanos = negative ? -(long)total : (long)total;
        return true;
    }

    private static double Unit(ReadOnlySpan<byte> unit) => unit switch
    {
        [(byte)'n', (byte)'s'] => 1,
        [(byte)'u', (byte)'s'] or [0xC2, 0xB5, (byte)'s'] or [0xCE, 0xBC, (byte)'s'] => 1e3,
        [(byte)'m', (byte)'s'] => 1e6,
        [(byte)'s'] => 1e9,
        [(byte)'m'] => 60e9,
        [(byte)'h'] => 3600e9,
        _ => 0,
    };
}
