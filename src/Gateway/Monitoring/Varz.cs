using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Platform.Gateway.JetStream;
using Platform.Gateway.Protocol;

namespace Platform.Gateway.Monitoring;

/// <summary>
/// /varz: nats-server's server overview with its field names and order. Fields are filled only where the silo can
/// say something true: the empty gateway/leaf/mqtt/websocket blocks are what nats-server shows when none is
/// configured, which is always the silo's case. In cluster mode "cluster" describes the Orleans silo port (the silos'
/// counterpart of nats-server's route port), its "urls" are the active silos' silo endpoints, "routes" the other
/// active silos, and "connect_urls" the client URLs INFO advertises. Left out: go (not a Go binary),
/// system_account (there is no $SYS account), and the jetstream reservations (see <see cref="Jsz"/>).
/// </summary>
internal static class Varz
{
    private static readonly object CpuGate = new();
    private static TimeSpan _lastCpu;
    private static long _lastCpuTimestamp;

    public static async Task Handle(MonitoringContext context, HttpContext http)
    {
        var server = context.Server;
        var options = server.Options;
        var js = context.JetStream;
        var snapshot = js is null ? null : await JetStreamSnapshot.TakeAsync(js, withConsumers: false);
        using var process = Process.GetCurrentProcess();
        var now = DateTime.UtcNow;
        double cpu = CpuPercent(process);
        await MonitoringEndpoints.WriteJson(http, w =>
        {
            w.WriteString("server_id", server.Info.ServerId);
            w.WriteString("server_name", server.Info.ServerName);
            w.WriteString("version", ServerInfo.ProtocolVersion);
            w.WriteString("platform_version", ServerInfo.ProductVersion);
            w.WriteNumber("proto", 1);
            w.WriteString("host", options.Host);
            w.WriteNumber("port", context.Endpoints.NatsPort);
            var cluster = server.Cluster;
            if (cluster is not null)
            {
                w.WriteStartArray("connect_urls");
                foreach (var url in cluster.ConnectUrls)
                    w.WriteStringValue(url);
                w.WriteEndArray();
            }
            if (options.AuthRequired)
                w.WriteBoolean("auth_required", true);
            if (options.Tls is { } tls)
            {
                w.WriteBoolean("tls_required", true);
                if (tls.Verify)
                    w.WriteBoolean("tls_verify", true);
            }
            w.WriteNumber("max_connections", options.MaxConnections);
            w.WriteNumber("ping_interval", Nanos(options.PingInterval));
            w.WriteNumber("ping_max", options.MaxPingsOutstanding);
            w.WriteString("http_host", options.Host);
            w.WriteNumber("http_port", context.Endpoints.HttpPort);
            w.WriteString("http_base_path", "");
            w.WriteNumber("https_port", 0);
            w.WriteNumber("auth_timeout", options.AuthTimeout.TotalSeconds);
            w.WriteNumber("max_control_line", options.MaxControlLine);
            w.WriteNumber("max_payload", options.MaxPayload);
            w.WriteNumber("max_pending", options.MaxPending);
            w.WriteStartObject("cluster");
            if (cluster is not null)
            {
                w.WriteString("name", cluster.Name);
                w.WriteString("addr", cluster.Address);
                w.WriteNumber("cluster_port", cluster.Port);
                w.WriteStartArray("urls");
                foreach (var url in cluster.SiloUrls)
                    w.WriteStringValue(url);
                w.WriteEndArray();
            }
            w.WriteEndObject();
            foreach (var none in new[] { "gateway", "leaf", "mqtt", "websocket" })
            {
                w.WriteStartObject(none);
                w.WriteEndObject();
            }
            w.WriteStartObject("jetstream");
            if (js is not null && snapshot is not null)
            {
                Jsz.WriteConfig(w, js);
                w.WriteStartObject("stats");
                Jsz.WriteStats(w, snapshot.Memory, snapshot.Storage, snapshot.ReservedMemory, snapshot.ReservedStorage, accounts: 1, js.Responder.Total, js.Responder.Errors);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            // nats-server shows its default handshake timeout even without TLS.
            w.WriteNumber("tls_timeout", (options.Tls?.Timeout ?? TimeSpan.FromSeconds(2)).TotalSeconds);
            w.WriteNumber("write_deadline", Nanos(options.WriteDeadline));
            w.WriteString("start", ApiJson.Time(server.StartTime));
            w.WriteString("now", ApiJson.Time(now));
            w.WriteString("uptime", MonitoringEndpoints.FormatUptime(now - server.StartTime));
            w.WriteNumber("mem", process.WorkingSet64);
            w.WriteNumber("cores", Environment.ProcessorCount);
            w.WriteNumber("gomaxprocs", Environment.ProcessorCount);
            w.WriteNumber("cpu", cpu);
            w.WriteNumber("connections", server.ClientCount);
            w.WriteNumber("total_connections", server.TotalConnections);
            w.WriteNumber("routes", cluster?.Peers ?? 0);
            w.WriteNumber("remotes", 0);
            w.WriteNumber("leafnodes", 0);
            w.WriteNumber("in_msgs", server.InMsgs);
            w.WriteNumber("out_msgs", server.OutMsgs);
            w.WriteNumber("in_bytes", server.InBytes);
            w.WriteNumber("out_bytes", server.OutBytes);
            w.WriteNumber("slow_consumers", server.SlowConsumers);
            w.WriteNumber("subscriptions", server.Router.Count);
            w.WriteStartObject("http_req_stats");
            foreach (var (path, count) in context.RequestCounts)
                w.WriteNumber(path, count);
            w.WriteEndObject();
            w.WriteString("config_load_time", ApiJson.Time(server.StartTime));
        });
    }

    private static long Nanos(TimeSpan span) => span.Ticks * 100;

    /// <summary>
    /// Process CPU in percent of one core, like nats-server's (ps-style) figure: over the time since the previous
    /// /varz, or since the process started on the first call. Rounded to one decimal as nats-server reports it.
    /// </summary>
    private static double CpuPercent(Process process)
    {
        var cpu = process.TotalProcessorTime;
        long timestamp = Stopwatch.GetTimestamp();
        TimeSpan used, elapsed;
        lock (CpuGate)
        {
            if (_lastCpuTimestamp == 0)
            {
                used = cpu;
                elapsed = DateTime.Now - process.StartTime;
            }
            else
            {
                used = cpu - _lastCpu;
                elapsed = Stopwatch.GetElapsedTime(_lastCpuTimestamp, timestamp);
            }
            _lastCpu = cpu;
            _lastCpuTimestamp = timestamp;
        }
        return elapsed > TimeSpan.Zero ? Math.Round(used / elapsed * 100, 1) : 0;
    }
}
