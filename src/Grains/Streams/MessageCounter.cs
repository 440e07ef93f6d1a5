using System.Numerics;
using System.Text;
using System.Text.Json;

namespace Platform.Grains.Streams;

/// <summary>
/// 2.12's distributed counters (ADR-49): on a stream with allow_msg_counter every publish carries Nats-Incr, a signed
/// integer of any size, and is stored as <c>{"val":"&lt;total&gt;"}</c>, the subject's previous total plus the increment.
/// The total lives only in the log (the subject's last message), so it survives a restart and a purge resets it.
/// Rules and errors as nats-server's.
/// </summary>
internal static class MessageCounter
{
    /// <summary>nats-server's refusals of allow_msg_counter beside settings a counter cannot keep, and ours.</summary>
    public static ApiError? CheckConfig(PlatformStreamConfig config)
    {
        // Discard new would refuse an increment the client believes counted.
        if (config.Discard == DiscardPolicy.New)
            return ApiError.InvalidConfig("counter stream cannot use discard new");
        // A message that expires would take its part of the total with it.
        if (config.AllowMsgTtl)
            return ApiError.InvalidConfig("counter stream cannot use message TTLs");
        if (config.Retention != RetentionPolicy.Limits)
            return ApiError.InvalidConfig("counter stream can only use limits retention");
        if (config.Mirror is not null)
            return ApiError.MirrorWithCounters;
        return null;
    }

    /// <summary>A Nats-Incr value as Go's big.Int reads base 10: an optional sign, then at least one digit.</summary>
    public static bool TryParseIncrement(ReadOnlySpan<byte> text, out BigInteger increment)
    {
        increment = default;
        var digits = text.Length > 0 && (text[0] == (byte)'+' || text[0] == (byte)'-') ? text[1..] : text;
        if (digits.IsEmpty)
            return false;
        foreach (byte b in digits)
            if (b is < (byte)'0' or > (byte)'9')
                return false;
        increment = BigInteger.Parse(Encoding.ASCII.GetString(text), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>The headers nats-server refuses beside an increment: each asks about a stream state a counter does not have.</summary>
    public static bool HasConditions(in PublishHeaders hdr)
        => !hdr.Rollup.IsEmpty || !hdr.ExpectedStream.IsEmpty || !hdr.ExpectedLastMsgId.IsEmpty
           || hdr.ExpectedLastSequence is not null || hdr.ExpectedLastSubjectSequence is not null;

    /// <summary>The total a stored counter message holds; false when the body is not a counter's.</summary>
    public static bool TryReadTotal(ReadOnlySpan<byte> payload, out BigInteger total)
    {
        total = default;
        try
        {
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isVal = reader.ValueTextEquals("val"u8);
                if (!reader.Read())
                    return false;
                if (isVal)
                {
                    if (reader.TokenType != JsonTokenType.String)
                        return false;
                    // A reader over one span never splits a value across segments.
                    return TryParseIncrement(reader.ValueSpan, out total);
                }
                reader.Skip();
            }
            // An object without "val" counts from zero.
            return reader.TokenType == JsonTokenType.EndObject;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The stored body for a total.</summary>
    public static byte[] Body(string total) => Encoding.ASCII.GetBytes($"{{\"val\":\"{total}\"}}");
}
