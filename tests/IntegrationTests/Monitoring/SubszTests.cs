using System.Net;
using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Monitoring;

/// <summary>/subsz: the router's counters and the subscription list, on a silo without JetStream so that every
/// subscription and every match is the test's own.</summary>
public sealed class SubszTests
{
    [Fact]
    public async Task Counters_follow_subscribes_matches_and_unsubscribes()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: false);
        int port = silo.HttpPort;
        var empty = await MonitorHttp.GetJsonAsync(port, "/subsz");
        Assert.Equal(0, empty.GetProperty("num_subscriptions").GetInt32());
        Assert.Equal(0, empty.GetProperty("num_matches").GetInt64());
        Assert.Equal(0.0, empty.GetProperty("cache_hit_rate").GetDouble());
        Assert.Equal(0.0, empty.GetProperty("avg_fanout").GetDouble());

        await using var traffic = await CoreTraffic.StartAsync(silo.Url);
        var stats = await MonitorHttp.GetJsonAsync(port, "/subsz");
        // Without subs=1 nats-server answers with the bare statistics.
        Assert.Equal(["num_subscriptions", "num_cache", "num_inserts", "num_removes", "num_matches", "cache_hit_rate", "max_fanout", "avg_fanout"],
            stats.EnumerateObject().Select(p => p.Name).ToArray());
        // Four subscriptions of the test's and NATS.Net's request inbox on each of the three connections.
        const int subscriptions = 4 + 3 * CoreTraffic.InboxSubscriptions;
        Assert.Equal(subscriptions, stats.GetProperty("num_subscriptions").GetInt32());
        Assert.Equal(subscriptions, stats.GetProperty("num_inserts").GetInt64());
        Assert.Equal(0, stats.GetProperty("num_removes").GetInt64());
        // Six publishes. A subject is cached on its second miss (one-off inboxes never are), so orders.new misses
        // twice then hits three times, and audit, published once, misses and is not cached.
        Assert.Equal(CoreTraffic.PublishedMsgs, stats.GetProperty("num_matches").GetInt64());
        Assert.Equal(3.0 / 6, stats.GetProperty("cache_hit_rate").GetDouble(), 9);
        Assert.Equal(1, stats.GetProperty("num_cache").GetInt32());
        // orders.new reaches orders.* and beta's orders.new (plain) and the workers group (one): 3; audit reaches 1.
        Assert.Equal(3, stats.GetProperty("max_fanout").GetInt32());
        // Fan-out is measured over the cached subjects, as nats-server does: only orders.new is cached.
        Assert.Equal(3.0, stats.GetProperty("avg_fanout").GetDouble(), 9);

        var connz = await MonitorHttp.GetJsonAsync(port, "/connz");
        ulong alphaCid = MonitorHttp.Connection(connz, "alpha").GetProperty("cid").GetUInt64();
        ulong betaCid = MonitorHttp.Connection(connz, "beta").GetProperty("cid").GetUInt64();
        var list = await MonitorHttp.GetJsonAsync(port, "/subsz?subs=1");
        Assert.StartsWith("N", list.GetProperty("server_id").GetString());
        Assert.Equal(subscriptions, list.GetProperty("total").GetInt32());
        Assert.Equal(0, list.GetProperty("offset").GetInt32());
        Assert.Equal(1024, list.GetProperty("limit").GetInt32());
        var subs = list.GetProperty("subscriptions_list").EnumerateArray().ToList();
        Assert.Equal(subscriptions, subs.Count);
        Assert.All(subs, s => Assert.Equal("$G", s.GetProperty("account").GetString()));
        var byKey = subs.ToDictionary(s => (s.GetProperty("cid").GetUInt64(), s.GetProperty("subject").GetString()!,
            s.TryGetProperty("qgroup", out var q) ? q.GetString() : null));
        Assert.Equal(CoreTraffic.OrdersPublished, byKey[(alphaCid, "orders.*", null)].GetProperty("msgs").GetInt64());
        Assert.Equal(CoreTraffic.OrdersPublished, byKey[(alphaCid, "orders.new", "workers")].GetProperty("msgs").GetInt64());
        Assert.Equal(1, byKey[(alphaCid, "audit", null)].GetProperty("msgs").GetInt64());
        Assert.Equal(CoreTraffic.OrdersPublished, byKey[(betaCid, "orders.new", null)].GetProperty("msgs").GetInt64());
        Assert.All(subs, s => Assert.False(string.IsNullOrEmpty(s.GetProperty("sid").GetString())));

        var tested = await MonitorHttp.GetJsonAsync(port, "/subsz?subs=1&test=orders.new");
        Assert.Equal(3, tested.GetProperty("subscriptions_list").GetArrayLength());
        var paged = await MonitorHttp.GetJsonAsync(port, "/subsz?subs=1&offset=1&limit=2");
        Assert.Equal(2, paged.GetProperty("subscriptions_list").GetArrayLength());
        // nats-server 2.9.10 reports the page size as total.
        Assert.Equal(2, paged.GetProperty("total").GetInt32());
        Assert.Equal(1, paged.GetProperty("offset").GetInt32());
        var none = await MonitorHttp.GetJsonAsync(port, "/subsz?subs=1&test=nobody");
        Assert.False(none.TryGetProperty("subscriptions_list", out _));
        Assert.Equal((HttpStatusCode.BadRequest, "invalid test subject, must be valid publish subject: orders.*"),
            await MonitorHttp.GetAsync(port, "/subsz?subs=1&test=orders.*"));
        Assert.Equal(HttpStatusCode.BadRequest, (await MonitorHttp.GetAsync(port, "/subsz?subs=x")).Status);

        // A subscription added and removed again: one insert and one remove more.
        await using (var extra = await traffic.Beta.SubscribeCoreAsync<string>("extra"))
            await traffic.Beta.PingAsync();
        await traffic.Beta.PingAsync();
        var after = await MonitorHttp.GetJsonAsync(port, "/subscriptionsz");
        Assert.Equal(subscriptions, after.GetProperty("num_subscriptions").GetInt32());
        Assert.Equal(subscriptions + 1, after.GetProperty("num_inserts").GetInt64());
        Assert.Equal(1, after.GetProperty("num_removes").GetInt64());

        var varz = await MonitorHttp.GetJsonAsync(port, "/varz");
        Assert.Equal(subscriptions, varz.GetProperty("subscriptions").GetInt32());
        // Nine requests to /subsz and /subscriptionsz, the bad ones included, all counted under /subsz as nats-server does.
        Assert.Equal(9, varz.GetProperty("http_req_stats").GetProperty("/subsz").GetInt64());
    }
}
