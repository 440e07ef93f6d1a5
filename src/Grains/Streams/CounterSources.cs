using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Platform.Grains.Streams;

/// <summary>
/// The Nats-Counter-Sources header of a counter stream that sources other counters (ADR-49): for each origin stream
/// and origin subject, the last total seen from it, as JSON (<c>{"stream":{"subject":"total"}}</c>). A sourced total
/// adds only its difference from the last one seen, so a total seen again (or a gap) never counts twice. Every message
/// of a subject carries the map on, and keys are never removed, as nats-server keeps them.
/// </summary>
internal static class CounterSources
{
    public const string HeaderName = "Nats-Counter-Sources";
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The map a stored message carries (null when it has none); false when the header is not such a map.</summary>
    public static bool TryRead(ReadOnlySpan<byte> headers, out Dictionary<string, Dictionary<string, string>>? sources)
    {
        sources = null;
        if (!HeaderValue(headers, HeaderName, out var value))
            return true;
        try
        {
            sources = JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, string>>>(value, Json);
            return sources is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The map as nats-server writes it (Go's encoding/json: keys sorted byte-wise, no spaces).</summary>
    public static string Write(Dictionary<string, Dictionary<string, string>> sources)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = Json.Encoder }))
        {
            writer.WriteStartObject();
            foreach (var stream in Sorted(sources.Keys))
            {
                writer.WriteStartObject(stream);
                var subjects = sources[stream];
                foreach (var subject in Sorted(subjects.Keys))
                    writer.WriteString(subject, subjects[subject]);
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);

        // Ordinal order of UTF-16 is not UTF-8's byte order past U+FFFF, which no stream name or subject needs.
        static string[] Sorted(IEnumerable<string> keys)
        {
            string[] sorted = [.. keys];
            Array.Sort(sorted, StringComparer.Ordinal);
            return sorted;
        }
    }

    /// <summary>The first value of header <paramref name="name"/> in a NATS header block.</summary>
    public static bool HeaderValue(ReadOnlySpan<byte> headers, string name, out ReadOnlySpan<byte> value)
    {
        value = default;
        int eol = headers.IndexOf("\r\n"u8);
        if (eol < 0)
            return false;
        var rest = headers[(eol + 2)..];
        Span<byte> key = stackalloc byte[name.Length];
        Encoding.ASCII.GetBytes(name, key);
        while ((eol = rest.IndexOf("\r\n"u8)) > 0)
        {
            var line = rest[..eol];
            rest = rest[(eol + 2)..];
            int colon = line.IndexOf((byte)':');
            if (colon > 0 && line[..colon].SequenceEqual(key))
            {
                value = line[(colon + 1)..].Trim((byte)' ');
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The header block with header <paramref name="name"/> set to <paramref name="value"/>: its first line replaced
    /// where it has one, else added at the end, as nats-server's setHeader does.
    /// </summary>
    public static byte[] SetHeader(ReadOnlySpan<byte> headers, string name, string value)
    {
        if (headers.IsEmpty)
            headers = "NATS/1.0\r\n\r\n"u8;
        // Latin-1 keeps one char per byte, so indexes in the text are indexes in the block.
        var text = Encoding.Latin1.GetString(headers);
        var line = Encoding.UTF8.GetBytes($"{name}: {value}");
        int start = text.IndexOf($"\r\n{name}:", StringComparison.Ordinal);
        int end;
        if (start >= 0)
        {
            start += 2;
            end = text.IndexOf("\r\n", start, StringComparison.Ordinal);
        }
        else
        {
            // Before the blank line that ends the block.
            start = end = headers.Length - 2;
            line = [.. line, (byte)'\r', (byte)'\n'];
        }
        return [.. headers[..start], .. line, .. headers[end..]];
    }
}
