using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Platform.Gateway.JetStream;
using Platform.Gateway.Server;

namespace Platform.Gateway.Monitoring;

/// <summary>
/// The HTTP monitoring port, with nats-server's paths, JSON field names, query parameters and 400 texts, so tools
/// written against nats-server's monitoring (nats CLI, Prometheus exporters, dashboards) read the silo unchanged.
/// </summary>
internal static class MonitoringEndpoints
{
    public static void Map(WebApplication app)
    {
        var context = new MonitoringContext(
            app.Services.GetRequiredService<NatsServer>(),
            app.Services.GetRequiredService<GatewayEndpoints>(),
            // The JetStream services exist only with -js; without it /jsz and /varz say JetStream is off.
            app.Services.GetRequiredService<NatsServer>().Options.JetStream ? JetStreamServices.From(app.Services) : null);
        Map(app, context, "/", Root);
        Map(app, context, "/healthz", Healthz.Handle);
        Map(app, context, "/varz", Varz.Handle);
        Map(app, context, "/connz", Connz.Handle);
        Map(app, context, "/subsz", Subsz.Handle);
        Map(app, context, "/routez", Routez.Handle);
        // nats-server serves /subsz under its older name too, and counts both as /subsz.
        Map(app, context, "/subscriptionsz", Subsz.Handle, countAs: "/subsz");
        Map(app, context, "/jsz", Jsz.Handle);
    }

    private static void Map(WebApplication app, MonitoringContext context, string path, Func<MonitoringContext, HttpContext, Task> handler,
        string? countAs = null)
        => app.MapGet(path, (HttpContext http) =>
        {
            context.CountRequest(countAs ?? path);
            return handler(context, http);
        });

    private static Task Root(MonitoringContext context, HttpContext http)
        => WriteJson(http, w =>
        {
            foreach (var name in new[] { "varz", "connz", "subsz", "jsz", "healthz" })
                w.WriteString(name, "/" + name);
        });

    /// <summary>Writes one JSON object, indented as nats-server does for everything but /healthz.</summary>
    public static async Task WriteJson(HttpContext http, Action<Utf8JsonWriter> body, bool indented = true, int status = StatusCodes.Status200OK)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = ApiJson.Options.Encoder }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(buffer.WrittenMemory);
    }

    /// <summary>A plain-text 400, nats-server's answer to a bad query parameter.</summary>
    public static Task BadRequest(HttpContext http, string text)
    {
        http.Response.StatusCode = StatusCodes.Status400BadRequest;
        http.Response.ContentType = "text/plain; charset=utf-8";
        return http.Response.WriteAsync(text);
    }

    /// <summary>Go's strconv.ParseBool over a query parameter; absent or empty is false.</summary>
    public static bool TryBool(HttpContext http, string name, out bool value, out string? error)
    {
        value = false;
        error = null;
        var text = http.Request.Query[name].ToString();
        switch (text)
        {
            case "": return true;
            case "1" or "t" or "T" or "true" or "TRUE" or "True": value = true; return true;
            case "0" or "f" or "F" or "false" or "FALSE" or "False": return true;
            default:
                error = $"Error decoding boolean for '{name}': strconv.ParseBool: parsing \"{text}\": invalid syntax";
                return false;
        }
    }

    /// <summary>Go's strconv.Atoi over a query parameter; absent or empty is 0.</summary>
    public static bool TryInt(HttpContext http, string name, out int value, out string? error)
    {
        value = 0;
        error = null;
        var text = http.Request.Query[name].ToString();
        if (text.Length == 0 || int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
            return true;
        error = $"Error decoding int for '{name}': strconv.Atoi: parsing \"{text}\": invalid syntax";
        return false;
    }

    /// <summary>nats-server's uptime format (1y2d3h4m5s, leading zero units omitted); also used for idle.</summary>
    public static string FormatUptime(TimeSpan span)
    {
        long seconds = Math.Max(0, (long)span.TotalSeconds);
        long minutes = seconds / 60, hours = minutes / 60, days = hours / 24, years = days / 365;
        if (years > 0) return $"{years}y{days % 365}d{hours % 24}h{minutes % 60}m{seconds % 60}s";
        if (days > 0) return $"{days}d{hours % 24}h{minutes % 60}m{seconds % 60}s";
        if (hours > 0) return $"{hours}h{minutes % 60}m{seconds % 60}s";
        if (minutes > 0) return $"{minutes}m{seconds % 60}s";
        return $"{seconds}s";
    }

    /// <summary>Go's time.Duration.String(), which nats-server uses for rtt: 0s, 850ns, 396µs, 61.679404ms, 1m2.5s.</summary>
    public static string GoDuration(TimeSpan span)
    {
        long ns = span.Ticks * 100;
        if (ns == 0) return "0s";
        if (ns < 1_000) return ns + "ns";
        if (ns < 1_000_000) return Fraction(ns, 1_000) + "µs";
        if (ns < 1_000_000_000) return Fraction(ns, 1_000_000) + "ms";
        var text = new StringBuilder();
        long hours = ns / 3_600_000_000_000, minutes = ns / 60_000_000_000 % 60;
        if (hours > 0) text.Append(hours).Append('h');
        if (hours > 0 || minutes > 0) text.Append(minutes).Append('m');
        return text.Append(Fraction(ns % 60_000_000_000, 1_000_000_000)).Append('s').ToString();
    }

    private static string Fraction(long value, long unit)
    {
        long whole = value / unit, rest = value % unit;
        if (rest == 0) return whole.ToString(CultureInfo.InvariantCulture);
        int digits = (int)Math.Log10(unit);
        return whole + "." + rest.ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0').TrimEnd('0');
    }
}

/// <summary>What the endpoint handlers share: the server, its listeners, JetStream when on, and request counts.</summary>
internal sealed class MonitoringContext(NatsServer server, GatewayEndpoints endpoints, JetStreamServices? jetStream)
{
    private readonly ConcurrentDictionary<string, long> _requests = new(StringComparer.Ordinal);

    public NatsServer Server { get; } = server;
    public GatewayEndpoints Endpoints { get; } = endpoints;
    public JetStreamServices? JetStream { get; } = jetStream;

    /// <summary>varz http_req_stats: requests per path, the current one included, as nats-server counts them.</summary>
    public void CountRequest(string path) => _requests.AddOrUpdate(path, 1, static (_, n) => n + 1);

    public IEnumerable<KeyValuePair<string, long>> RequestCounts => _requests.OrderBy(p => p.Key, StringComparer.Ordinal);
}

/// <summary>The JetStream services monitoring reads; resolved only when -js registered them.</summary>
internal sealed record JetStreamServices(IGrainFactory Grains, JetStreamApi Api, ApiResponder Responder, ConsumerApi Consumers, string StoreDirectory,
    Platform.Grains.Streams.StoreLimits Limits, Platform.Grains.Node.NodeIdentity Node, Platform.Grains.Cluster.CatalogView Catalog)
{
    public static JetStreamServices From(IServiceProvider services) => new(
        services.GetRequiredService<IGrainFactory>(),
        services.GetRequiredService<JetStreamApi>(),
        services.GetRequiredService<ApiResponder>(),
        services.GetRequiredService<ConsumerApi>(),
        Path.GetFullPath(Path.Combine(services.GetRequiredService<NatsServer>().Options.StoreDirectory, "jetstream")),
        services.GetRequiredService<Platform.Grains.Streams.StreamStore>().Limits,
        services.GetRequiredService<Platform.Grains.Node.NodeIdentity>(),
        services.GetRequiredService<Platform.Grains.Cluster.CatalogView>());
}
