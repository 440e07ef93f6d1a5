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

    /// <summary>Sends each step of a script (with {S} and {s} filled in) on one connection and collects the answers.</summary>
    public static async Task<List<string?>> RunAsync(string url, string name, IReadOnlyList<(string Subject, string Body, (string, string)[]? Headers)> script)
    {
        await using var nats = new NatsConnection(new NatsOpts { Url = url });
        await nats.ConnectAsync();
        // A fresh server's first API answer waits for its JetStream start (on a loaded 2-core machine, seconds); one
        // account info request with a long timeout absorbs that, so the steps' short timeout is about the steps.
        await RequestAsync(nats, "$JS.API.INFO", "", null, TimeSpan.FromSeconds(30));
        var answers = new List<string?>();
        foreach (var (subject, body, headers) in script)
            answers.Add(await RequestAsync(nats, Fill(subject, name), Fill(body, name), headers, TimeSpan.FromSeconds(3)));
        return answers;
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

    /// <summary>
    /// Compares nats-server's answers with the silo's step by step (normalized as <see cref="Normalize"/> does) and fails
    /// with every step that differs, each described by <paramref name="step"/>.
    /// </summary>
    public static void AssertSameAnswers(IReadOnlyList<string?> expected, IReadOnlyList<string?> actual, Func<int, string> step, IReadOnlySet<string> ignored)
    {
        var failures = new List<string>();
        for (int i = 0; i < expected.Count; i++)
        {
            var e = Normalize(expected[i], ignored);
            var a = Normalize(actual[i], ignored);
            if (!JsonNode.DeepEquals(e, a))
                failures.Add($"step {i} {step(i)}\n  nats-server: {e?.ToJsonString()}\n  silo:        {a?.ToJsonString()}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
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
