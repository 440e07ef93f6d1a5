using System.Net;
using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Monitoring;

/// <summary>/varz's JetStream block and counters, and /healthz's parameters.</summary>
public sealed class VarzHealthzTests
{
    [Fact]
    public async Task Varz_reports_jetstream_connections_and_requests()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: true);
        int port = silo.HttpPort;
        await using var traffic = await JetStreamTraffic.StartAsync(silo.Url, memoryStream: false);
        var orders = (await traffic.Js.GetStreamAsync("ORDERS")).Info.State;
        var account = await traffic.Js.GetAccountInfoAsync();
        await MonitorHttp.GetAsync(port, "/healthz");

        var varz = await MonitorHttp.GetJsonAsync(port, "/varz");
        Assert.Equal(silo.Port, varz.GetProperty("port").GetInt32());
        Assert.Equal(port, varz.GetProperty("http_port").GetInt32());
        Assert.Equal("", varz.GetProperty("http_base_path").GetString());
        foreach (var none in new[] { "cluster", "gateway", "leaf", "mqtt", "websocket" })
            Assert.Empty(varz.GetProperty(none).EnumerateObject());
        var js = varz.GetProperty("jetstream");
        Assert.Equal(Path.GetFullPath(Path.Combine(silo.DataDirectory, "jetstream")), js.GetProperty("config").GetProperty("store_dir").GetString());
        Assert.Equal(-1, js.GetProperty("config").GetProperty("max_memory").GetInt64());
        Assert.Equal(-1, js.GetProperty("config").GetProperty("max_storage").GetInt64());
        var stats = js.GetProperty("stats");
        Assert.Equal((long)orders.Bytes, stats.GetProperty("storage").GetInt64());
        Assert.Equal(0, stats.GetProperty("memory").GetInt64());
        Assert.Equal(1, stats.GetProperty("accounts").GetInt32());
        Assert.Equal(0, stats.GetProperty("ha_assets").GetInt32());
        Assert.Equal(account.Api.Total, stats.GetProperty("api").GetProperty("total").GetUInt64());
        Assert.Equal(0, stats.GetProperty("api").GetProperty("errors").GetInt64());
        Assert.Equal(1, varz.GetProperty("connections").GetInt32());
        Assert.Equal(1, varz.GetProperty("total_connections").GetInt64());
        Assert.True(varz.GetProperty("in_msgs").GetInt64() >= JetStreamTraffic.OrdersMessages);
        Assert.True(varz.GetProperty("cpu").GetDouble() >= 0);
        Assert.Matches(@"^\d+s$", varz.GetProperty("uptime").GetString());
        var requests = varz.GetProperty("http_req_stats");
        Assert.Equal(1, requests.GetProperty("/healthz").GetInt64());
        Assert.Equal(1, requests.GetProperty("/varz").GetInt64());
        var again = await MonitorHttp.GetJsonAsync(port, "/varz");
        Assert.Equal(2, again.GetProperty("http_req_stats").GetProperty("/varz").GetInt64());
        Assert.False(again.TryGetProperty("go", out _));
    }

    [Fact]
    public async Task Varz_without_jetstream_has_an_empty_jetstream_block()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: false);
        var varz = await MonitorHttp.GetJsonAsync(silo.HttpPort, "/varz");
        Assert.Empty(varz.GetProperty("jetstream").EnumerateObject());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Healthz_answers_ok_and_checks_its_parameters(bool jetStream)
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: jetStream);
        foreach (var query in new[] { "", "?js-enabled=true", "?js-enabled-only=true", "?js-enabled=1&js-enabled-only=false" })
            Assert.Equal((HttpStatusCode.OK, "{\"status\":\"ok\"}"), await MonitorHttp.GetAsync(silo.HttpPort, "/healthz" + query));
        Assert.Equal((HttpStatusCode.BadRequest, "Error decoding boolean for 'js-enabled-only': strconv.ParseBool: parsing \"foo\": invalid syntax"),
            await MonitorHttp.GetAsync(silo.HttpPort, "/healthz?js-enabled-only=foo"));
    }
}
