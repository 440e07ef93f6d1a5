using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Platform.Gateway.JetStream;
using Platform.Gateway.Routing;

namespace Platform.Gateway.Monitoring;

/// <summary>
/// /subsz: the subject router's statistics in nats-server's terms and, with subs=1, the client subscriptions
/// (test=SUBJECT keeps those a literal subject would reach; offset/limit page them).
/// As in nats-server 2.9.10: without a non-empty list the answer is the bare statistics (no server_id, now or
/// paging fields), and total is the number of entries on the returned page, not the number that matched.
/// Counts include the silo's internal subscriptions ($JS.API.&gt;, $JS.ACK.&gt;, $JS.FC.&gt;), as nats-server's
/// include its own; the list shows client subscriptions only, since internal ones have no connection (cid).
/// </summary>
internal static class Subsz
{
    private const int DefaultLimit = 1024;

    public static Task Handle(MonitoringContext context, HttpContext http)
    {
        if (!MonitoringEndpoints.TryBool(http, "subs", out bool subs, out var error)
            || !MonitoringEndpoints.TryInt(http, "offset", out int offset, out error)
            || !MonitoringEndpoints.TryInt(http, "limit", out int limit, out error))
            return MonitoringEndpoints.BadRequest(http, error!);
        var test = http.Request.Query["test"].ToString();
        if (test.Length > 0 && !IsLiteral(test))
            return MonitoringEndpoints.BadRequest(http, $"invalid test subject, must be valid publish subject: {test}");
        if (offset < 0) offset = 0;
        if (limit <= 0) limit = DefaultLimit;

        var server = context.Server;
        var stats = server.Router.Stats();
        List<Subscription> page = [];
        if (subs)
        {
            var all = new List<Subscription>();
            foreach (var client in server.Clients.OrderBy(c => c.Id))
            {
                foreach (var sub in client.SnapshotSubscriptions())
                {
                    if (test.Length == 0 || SubjectRouter.PatternMatches(sub.Subject, test))
                        all.Add(sub);
                }
            }
            page = all.Skip(offset).Take(limit).ToList();
        }

        return MonitoringEndpoints.WriteJson(http, w =>
        {
            if (page.Count > 0)
            {
                w.WriteString("server_id", server.Info.ServerId);
                w.WriteString("now", ApiJson.Time(DateTime.UtcNow));
            }
            w.WriteNumber("num_subscriptions", stats.Subscriptions);
            w.WriteNumber("num_cache", stats.Cached);
            w.WriteNumber("num_inserts", stats.Inserts);
            w.WriteNumber("num_removes", stats.Removes);
            w.WriteNumber("num_matches", stats.Matches);
            w.WriteNumber("cache_hit_rate", stats.CacheHitRate);
            w.WriteNumber("max_fanout", stats.MaxFanout);
            w.WriteNumber("avg_fanout", stats.AvgFanout);
            if (page.Count == 0)
                return;
            w.WriteNumber("total", page.Count);
            w.WriteNumber("offset", offset);
            w.WriteNumber("limit", limit);
            w.WriteStartArray("subscriptions_list");
            foreach (var sub in page)
                WriteSubscription(w, sub, withAccount: true);
            w.WriteEndArray();
        });
    }

    /// <summary>nats-server's SubDetail; /connz?subs=detail writes it without the account.</summary>
    public static void WriteSubscription(Utf8JsonWriter w, Subscription sub, bool withAccount)
    {
        w.WriteStartObject();
        if (withAccount)
            w.WriteString("account", Jsz.GlobalAccount);
        w.WriteString("subject", sub.Subject);
        if (sub.Queue is not null)
            w.WriteString("qgroup", sub.Queue);
        w.WriteString("sid", Encoding.Latin1.GetString(sub.Sid));
        w.WriteNumber("msgs", sub.Delivered);
        if (sub.Max > 0)
            w.WriteNumber("max", sub.Max);
        w.WriteNumber("cid", sub.Client?.Id ?? 0);
        w.WriteEndObject();
    }

    private static bool IsLiteral(string subject)
    {
        foreach (var token in subject.Split('.'))
        {
            if (token.Length == 0 || token is "*" or ">" || token.AsSpan().IndexOfAny(" \t\r\n") >= 0)
                return false;
        }
        return true;
    }
}
