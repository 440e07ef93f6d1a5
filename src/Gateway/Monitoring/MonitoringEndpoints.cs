using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Platform.Gateway.Protocol;
using Platform.Gateway.Server;

namespace Platform.Gateway.Monitoring;

/// <summary>The HTTP monitoring port, with nats-server's paths and JSON field names.</summary>
internal static class MonitoringEndpoints
{
    public static void Map(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<GatewayEndpoints>();
        var server = app.Services.GetRequiredService<NatsServer>();
        app.MapGet("/healthz", () => Results.Json(new { status = "ok" }));
        app.MapGet("/varz", () => Results.Json(Varz(server, endpoints)));
        app.MapGet("/", () => Results.Json(new { varz = "/varz", healthz = "/healthz" }));
    }

    private static object Varz(NatsServer server, GatewayEndpoints endpoints)
    {
        var options = server.Options;
        var process = Process.GetCurrentProcess();
        var now = DateTime.UtcNow;
        int subscriptions = server.Router.Count;
        return new
        {
            server_id = server.Info.ServerId,
            server_name = server.Info.ServerName,
            version = ServerInfo.ProtocolVersion,
            platform_version = ServerInfo.ProductVersion,
            proto = 1,
            host = options.Host,
            port = endpoints.NatsPort,
            max_connections = options.MaxConnections,
            ping_interval = (long)(options.PingInterval.TotalMilliseconds * 1_000_000),
            ping_max = options.MaxPingsOutstanding,
            http_host = options.Host,
            http_port = endpoints.HttpPort,
            https_port = 0,
            auth_timeout = options.AuthTimeout.TotalSeconds,
            max_control_line = options.MaxControlLine,
            max_payload = options.MaxPayload,
            max_pending = options.MaxPending,
            write_deadline = (long)(options.WriteDeadline.TotalMilliseconds * 1_000_000),
            jetstream = new { config = new { store_dir = options.StoreDirectory }, },
            start = server.StartTime.ToString("O"),
            now = now.ToString("O"),
            uptime = FormatUptime(now - server.StartTime),
            mem = process.WorkingSet64,
            cores = Environment.ProcessorCount,
            gomaxprocs = Environment.ProcessorCount,
            cpu = 0.0,
            connections = server.ClientCount,
            total_connections = server.TotalConnections,
            routes = 0,
            remotes = 0,
            leafnodes = 0,
            in_msgs = server.InMsgs,
            out_msgs = server.OutMsgs,
            in_bytes = server.InBytes,
            out_bytes = server.OutBytes,
            slow_consumers = server.SlowConsumers,
            subscriptions,
            config_load_time = server.StartTime.ToString("O"),
        };
    }

    /// <summary>nats-server's uptime format: 1d2h3m4s, leading zero units omitted.</summary>
    private static string FormatUptime(TimeSpan span)
    {
        if (span.Days > 0) return $"{span.Days}d{span.Hours}h{span.Minutes}m{span.Seconds}s";
        if (span.Hours > 0) return $"{span.Hours}h{span.Minutes}m{span.Seconds}s";
        if (span.Minutes > 0) return $"{span.Minutes}m{span.Seconds}s";
        return $"{span.Seconds}s";
    }
}
