using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>
/// The pieces of the JetStream differential tests: scripts name their streams {S} (and subjects {s}), requests are
/// answered with text or a marker, and JSON answers are compared with times and other per-server values removed.
/// </summary>
public static class ApiScript
{
    public static string Fill(string text, string name) => text.Replace("{S}", name).Replace("{s}", name.ToLowerInvariant());

    /// <summary>The reply text; null when nothing answered in time; a JSON string marker for a no-responders status.</summary>
    public static async Task<string?> RequestAsync(NatsConnection nats, string subject, string body, (string Key, string Value)[]? headers, TimeSpan timeout)
    {
        NatsHeaders? natsHeaders = null;
        if (headers is not null)
        {
            natsHeaders = new NatsHeaders();
            foreach (var (key, value) in headers)
                natsHeaders[key] = value;
        }
        try
        {
            var reply = await nats.RequestAsync<byte[], byte[]>(subject, Encoding.UTF8.GetBytes(body), headers: natsHeaders,
                replyOpts: new NatsSubOpts { Timeout = timeout });
            return reply.Data is null ? "" : Encoding.UTF8.GetString(reply.Data);
        }
        catch (NatsNoReplyException)
        {
            return null;
        }
        catch (NatsNoRespondersException)
        {
            return "\"<no responders>\"";
        }
    }

    /// <summary>Parses a reply for comparison, dropping every property named in <paramref name="ignored"/> at any depth.</summary>
    public static JsonNode? Normalize(string? text, IReadOnlySet<string> ignored)
    {
        if (text is null)
            return JsonValue.Create("<no reply>");
        if (text.Length == 0)
            return JsonValue.Create("");
        var node = JsonNode.Parse(text);
        Strip(node, ignored);
        return node;
    }

    private static void Strip(JsonNode? node, IReadOnlySet<string> ignored)
    {
        if (node is JsonObject obj)
        {
            foreach (var key in obj.Select(p => p.Key).ToList())
            {
                if (ignored.Contains(key))
                    obj.Remove(key);
                else
                    Strip(obj[key], ignored);
            }
        }
        else if (node is JsonArray array)
        {
            foreach (var item in array)
                Strip(item, ignored);
        }
    }
}
