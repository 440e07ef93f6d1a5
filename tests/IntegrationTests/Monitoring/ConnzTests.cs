using System.Net;
using System.Text.RegularExpressions;
using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Monitoring;

/// <summary>/connz against a silo with three NATS.Net connections whose subscriptions and traffic the test controls.</summary>
public sealed partial class ConnzTests
{
    [Fact]
    public async Task Connections_show_names_counts_sorting_and_paging()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: false);
        await using var traffic = await CoreTraffic.StartAsync(silo.Url);
        int port = silo.HttpPort;

        var connz = await MonitorHttp.GetJsonAsync(port, "/connz");
        Assert.Equal(3, connz.GetProperty("num_connections").GetInt32());
        Assert.Equal(3, connz.GetProperty("total").GetInt32());
        Assert.Equal(0, connz.GetProperty("offset").GetInt32());
        Assert.Equal(1024, connz.GetProperty("limit").GetInt32());
        Assert.StartsWith("N", connz.GetProperty("server_id").GetString());
        Assert.True(connz.GetProperty("now").GetDateTime() > DateTime.UtcNow.AddMinutes(-1));
        // Default order is by cid, which is connection order.
        Assert.Equal(["alpha", "beta", "pub"], MonitorHttp.Names(connz));

        var alpha = MonitorHttp.Connection(connz, "alpha");
        Assert.Equal("Client", alpha.GetProperty("kind").GetString());
        Assert.Equal("nats", alpha.GetProperty("type").GetString());
        Assert.Equal("127.0.0.1", alpha.GetProperty("ip").GetString());
        Assert.True(alpha.GetProperty("port").GetInt32() > 0);
        Assert.True(alpha.GetProperty("cid").GetUInt64() > 0);
        Assert.True(alpha.GetProperty("start").GetDateTime() <= alpha.GetProperty("last_activity").GetDateTime());
        Assert.Matches(Uptime(), alpha.GetProperty("uptime").GetString());
        Assert.Matches(Uptime(), alpha.GetProperty("idle").GetString());
        Assert.Equal(JsonValueKindString, alpha.GetProperty("rtt").ValueKind);
        Assert.Equal(0, alpha.GetProperty("pending_bytes").GetInt64());
        Assert.Equal(3 + CoreTraffic.InboxSubscriptions, alpha.GetProperty("subscriptions").GetInt32());
        Assert.Equal(0, alpha.GetProperty("in_msgs").GetInt64());
        Assert.Equal(0, alpha.GetProperty("in_bytes").GetInt64());
        Assert.Equal(CoreTraffic.AlphaOutMsgs, alpha.GetProperty("out_msgs").GetInt64());
        Assert.Equal(CoreTraffic.AlphaOutBytes, alpha.GetProperty("out_bytes").GetInt64());
        Assert.Equal(".NET", alpha.GetProperty("lang").GetString());
        Assert.False(string.IsNullOrEmpty(alpha.GetProperty("version").GetString()));
        Assert.False(alpha.TryGetProperty("subscriptions_list", out _));

        var beta = MonitorHttp.Connection(connz, "beta");
        Assert.Equal(1 + CoreTraffic.InboxSubscriptions, beta.GetProperty("subscriptions").GetInt32());
        Assert.Equal(CoreTraffic.BetaOutMsgs, beta.GetProperty("out_msgs").GetInt64());
        Assert.Equal(CoreTraffic.BetaOutBytes, beta.GetProperty("out_bytes").GetInt64());

        var pub = MonitorHttp.Connection(connz, "pub");
        Assert.Equal(CoreTraffic.InboxSubscriptions, pub.GetProperty("subscriptions").GetInt32());
        Assert.Equal(CoreTraffic.PublishedMsgs, pub.GetProperty("in_msgs").GetInt64());
        Assert.Equal(CoreTraffic.PublishedBytes, pub.GetProperty("in_bytes").GetInt64());
        Assert.Equal(0, pub.GetProperty("out_msgs").GetInt64());
        Assert.NotEqual(alpha.GetProperty("cid").GetUInt64(), pub.GetProperty("cid").GetUInt64());

        Assert.Equal(["alpha", "beta", "pub"], MonitorHttp.Names(await MonitorHttp.GetJsonAsync(port, "/connz?sort=subs")));
        Assert.Equal(["alpha", "beta", "pub"], MonitorHttp.Names(await MonitorHttp.GetJsonAsync(port, "/connz?sort=msgs_to")));
        Assert.Equal(["alpha", "beta", "pub"], MonitorHttp.Names(await MonitorHttp.GetJsonAsync(port, "/connz?sort=bytes_to")));
        Assert.Equal("pub", MonitorHttp.Names(await MonitorHttp.GetJsonAsync(port, "/connz?sort=msgs_from"))[0]);
        Assert.Equal("pub", MonitorHttp.Names(await MonitorHttp.GetJsonAsync(port, "/connz?sort=bytes_from"))[0]);
        Assert.Equal(["alpha", "beta", "pub"], MonitorHttp.Names(await MonitorHttp.GetJsonAsync(port, "/connz?sort=start")));
        // Shortest uptime first, as nats-server 2.9.10 sorts.
        Assert.Equal(["pub", "beta", "alpha"], MonitorHttp.Names(await MonitorHttp.GetJsonAsync(port, "/connz?sort=uptime")));
        foreach (var key in new[] { "cid", "pending", "idle", "last" })
            Assert.Equal(3, (await MonitorHttp.GetJsonAsync(port, "/connz?sort=" + key)).GetProperty("num_connections").GetInt32());

        var page = await MonitorHttp.GetJsonAsync(port, "/connz?sort=cid&offset=1&limit=1");
        Assert.Equal(1, page.GetProperty("num_connections").GetInt32());
        Assert.Equal(3, page.GetProperty("total").GetInt32());
        Assert.Equal(1, page.GetProperty("offset").GetInt32());
        Assert.Equal(1, page.GetProperty("limit").GetInt32());
        Assert.Equal(["beta"], MonitorHttp.Names(page));
        var past = await MonitorHttp.GetJsonAsync(port, "/connz?offset=5");
        Assert.Equal(0, past.GetProperty("num_connections").GetInt32());
        Assert.Equal(3, past.GetProperty("total").GetInt32());

        var one = await MonitorHttp.GetJsonAsync(port, "/connz?cid=" + beta.GetProperty("cid").GetUInt64());
        Assert.Equal(["beta"], MonitorHttp.Names(one));

        var subs = await MonitorHttp.GetJsonAsync(port, "/connz?subs=1");
        var alphaSubjects = MonitorHttp.Connection(subs, "alpha").GetProperty("subscriptions_list").EnumerateArray().Select(s => s.GetString()!).ToArray();
        Assert.Equal(["audit", "orders.*", "orders.new"], alphaSubjects.Where(s => !s.StartsWith("_INBOX.", StringComparison.Ordinal)).ToArray());
        Assert.StartsWith("_INBOX.", Assert.Single(MonitorHttp.Connection(subs, "pub").GetProperty("subscriptions_list").EnumerateArray()).GetString());
        Assert.False(MonitorHttp.Connection(await MonitorHttp.GetJsonAsync(port, "/connz?subs=0"), "alpha").TryGetProperty("subscriptions_list", out _));

        var detail = await MonitorHttp.GetJsonAsync(port, "/connz?subs=detail");
        var queue = MonitorHttp.Connection(detail, "alpha").GetProperty("subscriptions_list_detail").EnumerateArray()
            .Single(s => s.TryGetProperty("qgroup", out _));
        Assert.Equal("orders.new", queue.GetProperty("subject").GetString());
        Assert.Equal("workers", queue.GetProperty("qgroup").GetString());
        Assert.Equal(CoreTraffic.OrdersPublished, queue.GetProperty("msgs").GetInt64());
        Assert.Equal(alpha.GetProperty("cid").GetUInt64(), queue.GetProperty("cid").GetUInt64());

        Assert.Equal((HttpStatusCode.BadRequest, "invalid sorting option: bogus"), await MonitorHttp.GetAsync(port, "/connz?sort=bogus"));
        Assert.Equal(HttpStatusCode.BadRequest, (await MonitorHttp.GetAsync(port, "/connz?offset=abc")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await MonitorHttp.GetAsync(port, "/connz?subs=maybe")).Status);

        // A closed connection leaves the list.
        await traffic.Beta.DisposeAsync();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await MonitorHttp.GetJsonAsync(port, "/connz")).GetProperty("total").GetInt32() != 2 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal(["alpha", "pub"], MonitorHttp.Names(await MonitorHttp.GetJsonAsync(port, "/connz")));
    }

    private const System.Text.Json.JsonValueKind JsonValueKindString = System.Text.Json.JsonValueKind.String;

    [GeneratedRegex(@"^(\d+[ydhm])*\d+s$")]
    private static partial Regex Uptime();
}

/// <summary>
/// Three named connections: alpha subscribes orders.*, orders.new in queue group "workers" and audit; beta subscribes
/// orders.new; pub publishes orders.new five times ("hello") and audit once ("x"). Every message is read before the
/// test looks, so the counters are final.
/// </summary>
public sealed class CoreTraffic : IAsyncDisposable
{
    /// <summary>NATS.Net subscribes its request inbox (_INBOX.&lt;id&gt;.*) as it connects.</summary>
    public const int InboxSubscriptions = 1;
    public const int OrdersPublished = 5;
    public const long PublishedMsgs = OrdersPublished + 1;
    public const long PublishedBytes = OrdersPublished * 5 + 1;
    public const long AlphaOutMsgs = OrdersPublished * 2 + 1;
    public const long AlphaOutBytes = OrdersPublished * 5 * 2 + 1;
    public const long BetaOutMsgs = OrdersPublished;
    public const long BetaOutBytes = OrdersPublished * 5;

    private readonly List<IAsyncDisposable> _subs = [];

    private CoreTraffic(NatsConnection alpha, NatsConnection beta, NatsConnection pub)
    {
        Alpha = alpha;
        Beta = beta;
        Pub = pub;
    }

    public NatsConnection Alpha { get; }
    public NatsConnection Beta { get; }
    public NatsConnection Pub { get; }

    public static async Task<CoreTraffic> StartAsync(string url)
    {
        var traffic = new CoreTraffic(Connect(url, "alpha"), Connect(url, "beta"), Connect(url, "pub"));
        await traffic.Alpha.ConnectAsync();
        await traffic.Beta.ConnectAsync();
        await traffic.Pub.ConnectAsync();
        var orders = await traffic.Alpha.SubscribeCoreAsync<string>("orders.*");
        var workers = await traffic.Alpha.SubscribeCoreAsync<string>("orders.new", queueGroup: "workers");
        var audit = await traffic.Alpha.SubscribeCoreAsync<string>("audit");
        var beta = await traffic.Beta.SubscribeCoreAsync<string>("orders.new");
        traffic._subs.AddRange([orders, workers, audit, beta]);
        await traffic.Alpha.PingAsync();
        await traffic.Beta.PingAsync();
        for (int i = 0; i < OrdersPublished; i++)
            await traffic.Pub.PublishAsync("orders.new", "hello");
        await traffic.Pub.PublishAsync("audit", "x");
        await traffic.Pub.PingAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        for (int i = 0; i < OrdersPublished; i++)
        {
            await orders.Msgs.ReadAsync(cts.Token);
            await workers.Msgs.ReadAsync(cts.Token);
            await beta.Msgs.ReadAsync(cts.Token);
        }
        await audit.Msgs.ReadAsync(cts.Token);
        return traffic;
    }

    private static NatsConnection Connect(string url, string name) => new(new NatsOpts { Url = url, Name = name });

    public async ValueTask DisposeAsync()
    {
        foreach (var sub in _subs)
        {
            try { await sub.DisposeAsync(); } catch (Exception ex) when (ex is ObjectDisposedException or NatsException) { }
        }
        await Alpha.DisposeAsync();
        await Beta.DisposeAsync();
        await Pub.DisposeAsync();
    }
}
