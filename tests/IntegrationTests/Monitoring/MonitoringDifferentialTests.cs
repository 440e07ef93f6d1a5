using System.Net;
using System.Text.Json;
using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Monitoring;

/// <summary>
/// The same connections, subscriptions, stream and consumer set up against nats-server 2.9.10 (with -m) and the
/// silo; then the same monitoring requests to both. Field names must be the same, apart from the documented ones
/// each side has alone, JSON types must agree, and so must every value that does not depend on ids, times, memory,
/// cpu or the server's own internal subscriptions.
/// </summary>
public sealed class MonitoringDifferentialTests
{
    /// <summary>What nats-server has and the silo deliberately leaves out (see the endpoint classes for why).</summary>
    private static readonly HashSet<string> ReferenceOnly =
    [
        "varz.go", "varz.system_account",
        "jsz.account_details[].reserved_memory", "jsz.account_details[].reserved_storage", "jsz.account_details[].accounts",
        // The consumer grains do not record when the ack floor last moved; the JetStream API's consumer info lacks it too.
        "jsz.consumer_detail[].ack_floor.last_active",
    ];

    /// <summary>What the silo adds: its own product version next to the protocol version it speaks.</summary>
    private static readonly HashSet<string> SiloOnly = ["varz.platform_version"];

    [SkippableFact]
    public async Task Endpoints_match_nats_server_with_jetstream()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        await using var reference = await NatsServerProcess.StartAsync(jetStream: true, monitoring: true);
        await using var silo = await SiloProcess.StartAsync(jetStream: true);
        await using var refCore = await CoreTraffic.StartAsync(reference.Url);
        await using var siloCore = await CoreTraffic.StartAsync(silo.Url);
        await using var refJs = await JetStreamTraffic.StartAsync(reference.Url, memoryStream: false);
        await using var siloJs = await JetStreamTraffic.StartAsync(silo.Url, memoryStream: false);
        var problems = new List<string>();

        // The same requests in the same order, so http_req_stats must agree too.
        var paths = new[] { "/varz", "/connz?subs=1", "/subsz?subs=1", "/jsz?consumers=true&config=true", "/healthz", "/varz" };
        var r = new Dictionary<string, JsonElement>();
        var s = new Dictionary<string, JsonElement>();
        foreach (var path in paths)
        {
            r[path] = await MonitorHttp.GetJsonAsync(reference.HttpPort, path);
            s[path] = await MonitorHttp.GetJsonAsync(silo.HttpPort, path);
        }

        // total_connections differs: NatsServerProcess detects readiness by connecting to nats-server's client port.
        CompareShape("varz", r["/varz"], s["/varz"], problems);
        foreach (var field in new[] { "proto", "max_connections", "ping_interval", "ping_max", "https_port", "auth_timeout", "max_control_line",
                     "max_payload", "max_pending", "write_deadline", "connections", "routes", "remotes", "leafnodes",
                     "slow_consumers", "http_base_path", "cores" })
            CompareValue("varz." + field, r["/varz"].GetProperty(field), s["/varz"].GetProperty(field), problems);
        var rjs = r["/varz"].GetProperty("jetstream").GetProperty("stats");
        var sjs = s["/varz"].GetProperty("jetstream").GetProperty("stats");
        foreach (var field in new[] { "memory", "storage", "accounts", "ha_assets", "api" })
            CompareValue("varz.jetstream.stats." + field, rjs.GetProperty(field), sjs.GetProperty(field), problems);
        CompareValue("varz.http_req_stats", r["/varz"].GetProperty("http_req_stats"), s["/varz"].GetProperty("http_req_stats"), problems);

        var rc = r["/connz?subs=1"];
        var sc = s["/connz?subs=1"];
        CompareShape("connz", rc, sc, problems);
        foreach (var field in new[] { "num_connections", "total", "offset", "limit" })
            CompareValue("connz." + field, rc.GetProperty(field), sc.GetProperty(field), problems);
        CompareValue("connz order", JsonSerializer.SerializeToElement(MonitorHttp.Names(rc)), JsonSerializer.SerializeToElement(MonitorHttp.Names(sc)), problems);
        foreach (var name in new[] { "alpha", "beta", "pub", "js" })
        {
            var rconn = MonitorHttp.Connection(rc, name);
            var sconn = MonitorHttp.Connection(sc, name);
            CompareShape($"connz.{name}", rconn, sconn, problems);
            // The js connection's out_bytes carry JetStream API replies, whose JSON (times, ids) differs in length.
            var fields = new List<string> { "kind", "type", "ip", "pending_bytes", "in_msgs", "out_msgs", "in_bytes", "subscriptions", "lang", "version" };
            if (name != "js")
                fields.Add("out_bytes");
            foreach (var field in fields)
                CompareValue($"connz.{name}.{field}", rconn.GetProperty(field), sconn.GetProperty(field), problems);
            CompareValue($"connz.{name}.subscriptions_list", SubjectSet(rconn), SubjectSet(sconn), problems);
        }
        // Keys on which the four connections differ, so ties (which each server breaks its own way) cannot occur.
        foreach (var sort in new[] { "msgs_to", "bytes_to", "cid", "start", "uptime" })
        {
            var rs = MonitorHttp.Names(await MonitorHttp.GetJsonAsync(reference.HttpPort, "/connz?sort=" + sort));
            var ss = MonitorHttp.Names(await MonitorHttp.GetJsonAsync(silo.HttpPort, "/connz?sort=" + sort));
            if (!rs.SequenceEqual(ss))
                problems.Add($"connz?sort={sort}: nats-server [{string.Join(",", rs)}], silo [{string.Join(",", ss)}]");
        }
        foreach (var query in new[] { "/connz?sort=bogus", "/connz?sort=stop", "/connz?offset=x", "/connz?subs=x", "/subsz?subs=x",
                     "/subsz?subs=1&test=a.*", "/jsz?accounts=x", "/healthz?js-enabled=x" })
        {
            var (rStatus, rBody) = await MonitorHttp.GetAsync(reference.HttpPort, query);
            var (sStatus, sBody) = await MonitorHttp.GetAsync(silo.HttpPort, query);
            if (rStatus != sStatus || rBody.Trim() != sBody.Trim())
                problems.Add($"{query}: nats-server {(int)rStatus} '{rBody.Trim()}', silo {(int)sStatus} '{sBody.Trim()}'");
        }

        // Subscription lists: the client subscriptions of the named connections, keyed by connection name.
        CompareShape("subsz", r["/subsz?subs=1"], s["/subsz?subs=1"], problems);
        CompareValue("subsz client subscriptions", ClientSubscriptions(r["/subsz?subs=1"], rc), ClientSubscriptions(s["/subsz?subs=1"], sc), problems);
        CompareShape("subsz.subscriptions_list[]", r["/subsz?subs=1"].GetProperty("subscriptions_list")[0], s["/subsz?subs=1"].GetProperty("subscriptions_list")[0], problems);
        // Counter changes for one subscribe and one unsubscribe agree, whatever each server subscribes internally.
        var rBefore = await MonitorHttp.GetJsonAsync(reference.HttpPort, "/subsz");
        var sBefore = await MonitorHttp.GetJsonAsync(silo.HttpPort, "/subsz");
        CompareShape("subsz stats", rBefore, sBefore, problems);
        await SubscribeAndUnsubscribe(refCore.Alpha);
        await SubscribeAndUnsubscribe(siloCore.Alpha);
        var rAfter = await MonitorHttp.GetJsonAsync(reference.HttpPort, "/subsz");
        var sAfter = await MonitorHttp.GetJsonAsync(silo.HttpPort, "/subsz");
        foreach (var field in new[] { "num_subscriptions", "num_inserts", "num_removes" })
        {
            long rDelta = rAfter.GetProperty(field).GetInt64() - rBefore.GetProperty(field).GetInt64();
            long sDelta = sAfter.GetProperty(field).GetInt64() - sBefore.GetProperty(field).GetInt64();
            if (rDelta != sDelta)
                problems.Add($"subsz.{field} changed by {rDelta} on nats-server, {sDelta} on the silo");
        }

        var rj = r["/jsz?consumers=true&config=true"];
        var sj = s["/jsz?consumers=true&config=true"];
        CompareShape("jsz", rj, sj, problems);
        foreach (var field in new[] { "memory", "storage", "accounts", "ha_assets", "api", "streams", "consumers", "messages", "bytes" })
            CompareValue("jsz." + field, rj.GetProperty(field), sj.GetProperty(field), problems);
        var rAccount = rj.GetProperty("account_details")[0];
        var sAccount = sj.GetProperty("account_details")[0];
        CompareShape("jsz.account_details[]", rAccount, sAccount, problems);
        foreach (var field in new[] { "name", "id", "memory", "storage", "api" })
            CompareValue("jsz.account_details[]." + field, rAccount.GetProperty(field), sAccount.GetProperty(field), problems);
        var rStream = rAccount.GetProperty("stream_detail")[0];
        var sStream = sAccount.GetProperty("stream_detail")[0];
        CompareShape("jsz.stream_detail[]", rStream, sStream, problems, skip: "config");
        CompareValue("jsz.stream_detail[].name", rStream.GetProperty("name"), sStream.GetProperty("name"), problems);
        CompareShape("jsz.stream_detail[].state", rStream.GetProperty("state"), sStream.GetProperty("state"), problems);
        foreach (var field in new[] { "messages", "bytes", "first_seq", "last_seq", "num_subjects", "consumer_count" })
            CompareValue("jsz.stream_detail[].state." + field, rStream.GetProperty("state").GetProperty(field), sStream.GetProperty("state").GetProperty(field), problems);
        var rConsumer = rStream.GetProperty("consumer_detail")[0];
        var sConsumer = sStream.GetProperty("consumer_detail")[0];
        CompareShape("jsz.consumer_detail[]", rConsumer, sConsumer, problems, skip: "config");
        foreach (var field in new[] { "stream_name", "name", "num_ack_pending", "num_redelivered", "num_waiting", "num_pending" })
            CompareValue("jsz.consumer_detail[]." + field, rConsumer.GetProperty(field), sConsumer.GetProperty(field), problems);
        foreach (var field in new[] { "delivered", "ack_floor" })
        {
            CompareShape("jsz.consumer_detail[]." + field, rConsumer.GetProperty(field), sConsumer.GetProperty(field), problems);
            foreach (var seq in new[] { "consumer_seq", "stream_seq" })
                CompareValue($"jsz.consumer_detail[].{field}.{seq}", rConsumer.GetProperty(field).GetProperty(seq), sConsumer.GetProperty(field).GetProperty(seq), problems);
        }

        CompareValue("healthz", r["/healthz"], s["/healthz"], problems);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [SkippableFact]
    public async Task Endpoints_match_nats_server_without_jetstream()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        await using var reference = await NatsServerProcess.StartAsync(jetStream: false, monitoring: true);
        await using var silo = await SiloProcess.StartAsync(jetStream: false);
        var problems = new List<string>();
        foreach (var query in new[] { "/healthz", "/healthz?js-enabled=true", "/healthz?js-enabled-only=true", "/healthz?js-enabled-only=1" })
        {
            var expected = await MonitorHttp.GetAsync(reference.HttpPort, query);
            var actual = await MonitorHttp.GetAsync(silo.HttpPort, query);
            if (expected != actual)
                problems.Add($"{query}: nats-server {(int)expected.Status} '{expected.Body}', silo {(int)actual.Status} '{actual.Body}'");
        }
        var rj = await MonitorHttp.GetJsonAsync(reference.HttpPort, "/jsz?accounts=true");
        var sj = await MonitorHttp.GetJsonAsync(silo.HttpPort, "/jsz?accounts=true");
        CompareShape("jsz", rj, sj, problems);
        foreach (var field in new[] { "disabled", "config", "memory", "storage", "accounts", "ha_assets", "api", "streams", "consumers", "messages", "bytes" })
            CompareValue("jsz." + field, rj.GetProperty(field), sj.GetProperty(field), problems);
        var rv = await MonitorHttp.GetJsonAsync(reference.HttpPort, "/varz");
        var sv = await MonitorHttp.GetJsonAsync(silo.HttpPort, "/varz");
        CompareShape("varz", rv, sv, problems);
        CompareValue("varz.jetstream", rv.GetProperty("jetstream"), sv.GetProperty("jetstream"), problems);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static async Task SubscribeAndUnsubscribe(NatsConnection nats)
    {
        await using (await nats.SubscribeCoreAsync<string>("diff.extra"))
            await nats.PingAsync();
        await nats.PingAsync();
    }

    /// <summary>A connection's subscribed subjects as a sorted list, NATS.Net's random inbox name made generic:
    /// nats-server lists them in its own map order, the silo sorts them.</summary>
    private static JsonElement SubjectSet(JsonElement connection)
        => JsonSerializer.SerializeToElement(connection.GetProperty("subscriptions_list").EnumerateArray()
            .Select(s => Inbox(s.GetString()!)).Order(StringComparer.Ordinal).ToArray());

    private static string Inbox(string subject) => System.Text.RegularExpressions.Regex.Replace(subject, @"^_INBOX\.[A-Za-z0-9]+\.", "_INBOX.");

    /// <summary>(connection name, subject, queue, sid, msgs) of every subscription of alpha and beta, sorted.</summary>
    private static JsonElement ClientSubscriptions(JsonElement subsz, JsonElement connz)
    {
        var names = connz.GetProperty("connections").EnumerateArray()
            .Where(c => c.TryGetProperty("name", out var n) && n.GetString() is "alpha" or "beta")
            .ToDictionary(c => c.GetProperty("cid").GetUInt64(), c => c.GetProperty("name").GetString()!);
        var rows = subsz.GetProperty("subscriptions_list").EnumerateArray()
            .Where(sub => names.ContainsKey(sub.GetProperty("cid").GetUInt64()))
            .Select(sub => $"{names[sub.GetProperty("cid").GetUInt64()]} {sub.GetProperty("account").GetString()} {Inbox(sub.GetProperty("subject").GetString()!)} " +
                           $"{(sub.TryGetProperty("qgroup", out var q) ? q.GetString() : "-")} {sub.GetProperty("sid").GetString()} {sub.GetProperty("msgs").GetInt64()}")
            .Order(StringComparer.Ordinal)
            .ToArray();
        return JsonSerializer.SerializeToElement(rows);
    }

    /// <summary>Same field names (apart from the documented one-sided ones) and, for shared fields, the same JSON types.</summary>
    private static void CompareShape(string path, JsonElement reference, JsonElement silo, List<string> problems, string? skip = null)
    {
        var refKeys = MonitorHttp.Keys(reference);
        var siloKeys = MonitorHttp.Keys(silo);
        foreach (var key in refKeys.Except(siloKeys))
            if (!ReferenceOnly.Contains($"{path}.{key}"))
                problems.Add($"{path}.{key}: nats-server has it, the silo does not");
        foreach (var key in siloKeys.Except(refKeys))
            if (!SiloOnly.Contains($"{path}.{key}"))
                problems.Add($"{path}.{key}: the silo has it, nats-server does not");
        foreach (var key in refKeys.Intersect(siloKeys))
        {
            var (r, s) = (reference.GetProperty(key), silo.GetProperty(key));
            if (Kind(r) != Kind(s))
                problems.Add($"{path}.{key}: nats-server {r.ValueKind}, silo {s.ValueKind}");
            else if (r.ValueKind == JsonValueKind.Object && key != skip && key != "http_req_stats")
                CompareShape($"{path}.{key}", r, s, problems);
        }
    }

    private static JsonValueKind Kind(JsonElement e) => e.ValueKind is JsonValueKind.True or JsonValueKind.False ? JsonValueKind.True : e.ValueKind;

    private static void CompareValue(string path, JsonElement reference, JsonElement silo, List<string> problems)
    {
        if (!JsonElement.DeepEquals(reference, silo))
            problems.Add($"{path}: nats-server {reference.GetRawText()}, silo {silo.GetRawText()}");
    }
}
