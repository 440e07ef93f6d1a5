using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Platform.Gateway.JetStream;
using Platform.Gateway.Server;

namespace Platform.Gateway.Monitoring;

/// <summary>
/// /connz: the open client connections, in nats-server's shape. Query parameters as nats-server 2.9.10 reads them:
/// subs=1 (subject list) or subs=detail (subscription details), offset, limit (default 1024), sort, cid.
/// total counts every open connection, num_connections those on this page. Sorting is nats-server's: cid and start
/// ascending, idle and uptime shortest first, every other key largest first; ties go by cid so pages are stable.
/// Differences: rtt is the round trip of the last keep-alive PING the silo sent ("0s" before the first one is
/// answered; nats-server also pings right after CONNECT), and closed connections are not kept, so state=closed and
/// sort=stop/reason are not offered.
/// </summary>
internal static class Connz
{
    private const int DefaultLimit = 1024;

    private static readonly Dictionary<string, Comparison<Row>> Sorts = new(StringComparer.Ordinal)
    {
        ["cid"] = (a, b) => a.Cid.CompareTo(b.Cid),
        ["start"] = (a, b) => a.Start.CompareTo(b.Start),
        ["subs"] = (a, b) => b.Subscriptions.CompareTo(a.Subscriptions),
        ["pending"] = (a, b) => b.Pending.CompareTo(a.Pending),
        ["msgs_to"] = (a, b) => b.OutMsgs.CompareTo(a.OutMsgs),
        ["msgs_from"] = (a, b) => b.InMsgs.CompareTo(a.InMsgs),
        ["bytes_to"] = (a, b) => b.OutBytes.CompareTo(a.OutBytes),
        ["bytes_from"] = (a, b) => b.InBytes.CompareTo(a.InBytes),
        ["last"] = (a, b) => b.LastActivity.CompareTo(a.LastActivity),
        // nats-server 2.9.10 puts the least idle and the shortest up first (checked against the binary).
        ["idle"] = (a, b) => b.LastActivity.CompareTo(a.LastActivity),
        ["uptime"] = (a, b) => b.Start.CompareTo(a.Start),
    };

    public static Task Handle(MonitoringContext context, HttpContext http)
    {
        if (!MonitoringEndpoints.TryInt(http, "offset", out int offset, out var error)
            || !MonitoringEndpoints.TryInt(http, "limit", out int limit, out error)
            || !MonitoringEndpoints.TryInt(http, "cid", out int cid, out error))
            return MonitoringEndpoints.BadRequest(http, error!);
        var subsText = http.Request.Query["subs"].ToString();
        bool subsDetail = subsText == "detail";
        bool subs = false;
        if (!subsDetail && !MonitoringEndpoints.TryBool(http, "subs", out subs, out error))
            return MonitoringEndpoints.BadRequest(http, error!);
        var sortKey = http.Request.Query["sort"].ToString();
        if (sortKey is "stop" or "reason")
            return MonitoringEndpoints.BadRequest(http, $"sort by {sortKey} only valid on closed connections");
        Comparison<Row>? sort = null;
        if (sortKey.Length > 0 && !Sorts.TryGetValue(sortKey, out sort))
            return MonitoringEndpoints.BadRequest(http, $"invalid sorting option: {sortKey}");
        sort ??= Sorts["cid"];
        if (offset < 0) offset = 0;
        if (limit <= 0) limit = DefaultLimit;

        var server = context.Server;
        var now = DateTime.UtcNow;
        var rows = new List<Row>();
        foreach (var client in server.Clients)
        {
            if (client.IsClosed || (cid > 0 && client.Id != (ulong)cid))
                continue;
            rows.Add(new Row(client));
        }
        if (cid > 0)
        {
            // nats-server answers a single connection lookup with limit 1.
            offset = 0;
            limit = 1;
        }
        rows.Sort((a, b) => sort(a, b) is var c and not 0 ? c : a.Cid.CompareTo(b.Cid));
        var page = rows.Skip(offset).Take(limit).ToList();

        return MonitoringEndpoints.WriteJson(http, w =>
        {
            w.WriteString("server_id", server.Info.ServerId);
            w.WriteString("now", ApiJson.Time(now));
            w.WriteNumber("num_connections", page.Count);
            w.WriteNumber("total", rows.Count);
            w.WriteNumber("offset", offset);
            w.WriteNumber("limit", limit);
            w.WriteStartArray("connections");
            foreach (var row in page)
                WriteConnection(w, row, now, subs, subsDetail);
            w.WriteEndArray();
        });
    }

    private static void WriteConnection(Utf8JsonWriter w, Row row, DateTime now, bool subs, bool subsDetail)
    {
        var client = row.Client;
        w.WriteStartObject();
        w.WriteNumber("cid", row.Cid);
        w.WriteString("kind", "Client");
        w.WriteString("type", "nats");
        w.WriteString("ip", client.RemoteEndPoint?.Address.ToString() ?? "");
        w.WriteNumber("port", client.RemoteEndPoint?.Port ?? 0);
        w.WriteString("start", ApiJson.Time(row.Start));
        w.WriteString("last_activity", ApiJson.Time(row.LastActivity));
        w.WriteString("rtt", client.Rtt is { } rtt ? MonitoringEndpoints.GoDuration(rtt) : "0s");
        w.WriteString("uptime", MonitoringEndpoints.FormatUptime(now - row.Start));
        w.WriteString("idle", MonitoringEndpoints.FormatUptime(now - row.LastActivity));
        w.WriteNumber("pending_bytes", row.Pending);
        w.WriteNumber("in_msgs", row.InMsgs);
        w.WriteNumber("out_msgs", row.OutMsgs);
        w.WriteNumber("in_bytes", row.InBytes);
        w.WriteNumber("out_bytes", row.OutBytes);
        w.WriteNumber("subscriptions", row.Subscriptions);
        // nats-server omits empty strings here (omitempty).
        if (!string.IsNullOrEmpty(client.Name)) w.WriteString("name", client.Name);
        if (!string.IsNullOrEmpty(client.Lang)) w.WriteString("lang", client.Lang);
        if (!string.IsNullOrEmpty(client.Version)) w.WriteString("version", client.Version);
        if (client.TlsVersion is { } tlsVersion) w.WriteString("tls_version", tlsVersion);
        if (client.TlsCipherSuite is { } cipher) w.WriteString("tls_cipher_suite", cipher);
        if (subs || subsDetail)
        {
            var list = client.SnapshotSubscriptions();
            if (list.Count > 0)
            {
                w.WriteStartArray(subsDetail ? "subscriptions_list_detail" : "subscriptions_list");
                foreach (var sub in list.OrderBy(s => s.Subject, StringComparer.Ordinal))
                {
                    if (subsDetail)
                        Subsz.WriteSubscription(w, sub, withAccount: false);
                    else
                        w.WriteStringValue(sub.Subject);
                }
                w.WriteEndArray();
            }
        }
        w.WriteEndObject();
    }

    /// <summary>One connection's figures read once, so sorting compares stable values.</summary>
    private sealed class Row(NatsClient client)
    {
        public NatsClient Client { get; } = client;
        public ulong Cid { get; } = client.Id;
        public DateTime Start { get; } = client.ConnectedAt;
        public DateTime LastActivity { get; } = client.LastActivity;
        public long Pending { get; } = client.Outbound.PendingBytes;
        public long InMsgs { get; } = Volatile.Read(ref client.InMsgs);
        public long InBytes { get; } = Volatile.Read(ref client.InBytes);
        public long OutMsgs { get; } = client.OutMsgs;
        public long OutBytes { get; } = client.OutBytes;
        public int Subscriptions { get; } = client.SubscriptionCount;
    }
}
