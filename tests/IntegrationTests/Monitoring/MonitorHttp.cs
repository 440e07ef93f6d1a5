using System.Net;
using System.Text.Json;

namespace Platform.IntegrationTests.Monitoring;

/// <summary>GETs a monitoring endpoint and parses its JSON; the monitoring tests' only HTTP client.</summary>
public static class MonitorHttp
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public static async Task<JsonElement> GetJsonAsync(int httpPort, string pathAndQuery)
    {
        var (status, body) = await GetAsync(httpPort, pathAndQuery);
        Assert.True(status == HttpStatusCode.OK, $"{pathAndQuery} answered {(int)status}: {body}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.Clone();
    }

    public static async Task<(HttpStatusCode Status, string Body)> GetAsync(int httpPort, string pathAndQuery)
    {
        using var response = await Http.GetAsync($"http://127.0.0.1:{httpPort}{pathAndQuery}");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The connection named <paramref name="name"/> in a /connz answer.</summary>
    public static JsonElement Connection(JsonElement connz, string name)
        => connz.GetProperty("connections").EnumerateArray()
            .Single(c => c.TryGetProperty("name", out var n) && n.GetString() == name);

    public static IReadOnlyList<string> Names(JsonElement connz)
        => [.. connz.GetProperty("connections").EnumerateArray().Select(c => c.TryGetProperty("name", out var n) ? n.GetString()! : "")];

    public static HashSet<string> Keys(JsonElement obj) => [.. obj.EnumerateObject().Select(p => p.Name)];
}
