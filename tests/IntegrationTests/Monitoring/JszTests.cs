using System.Net;
using NATS.Client.JetStream;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Monitoring;

/// <summary>/jsz totals and detail levels after the test created streams, published, and consumed.</summary>
public sealed class JszTests
{
    [Fact]
    public async Task Totals_and_detail_levels_follow_streams_and_consumers()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: true);
        int port = silo.HttpPort;
        var empty = await MonitorHttp.GetJsonAsync(port, "/jsz");
        Assert.Equal(0, empty.GetProperty("streams").GetInt32());
        Assert.Equal(1, empty.GetProperty("accounts").GetInt32());

        await using var traffic = await JetStreamTraffic.StartAsync(silo.Url, memoryStream: true);
        var orders = (await traffic.Js.GetStreamAsync("ORDERS")).Info.State;
        var cache = (await traffic.Js.GetStreamAsync("CACHE")).Info.State;
        await Assert.ThrowsAsync<NatsJSApiException>(async () => await traffic.Js.GetStreamAsync("NOPE"));
        var account = await traffic.Js.GetAccountInfoAsync();

        var jsz = await MonitorHttp.GetJsonAsync(port, "/jsz");
        Assert.StartsWith("N", jsz.GetProperty("server_id").GetString());
        Assert.False(jsz.TryGetProperty("disabled", out _));
        var config = jsz.GetProperty("config");
        Assert.Equal(Path.GetFullPath(Path.Combine(silo.DataDirectory, "jetstream")), config.GetProperty("store_dir").GetString());
        Assert.Equal(-1, config.GetProperty("max_memory").GetInt64());
        Assert.Equal(-1, config.GetProperty("max_storage").GetInt64());
        Assert.Equal(2, jsz.GetProperty("streams").GetInt32());
        Assert.Equal(1, jsz.GetProperty("consumers").GetInt32());
        Assert.Equal(JetStreamTraffic.OrdersMessages + JetStreamTraffic.CacheMessages, jsz.GetProperty("messages").GetInt64());
        Assert.Equal((long)(orders.Bytes + cache.Bytes), jsz.GetProperty("bytes").GetInt64());
        Assert.Equal((long)orders.Bytes, jsz.GetProperty("storage").GetInt64());
        Assert.Equal((long)cache.Bytes, jsz.GetProperty("memory").GetInt64());
        Assert.Equal(0, jsz.GetProperty("ha_assets").GetInt32());
        // No API request between the account info and /jsz: the same counts, with the failed stream info as the error.
        Assert.Equal(account.Api.Total, jsz.GetProperty("api").GetProperty("total").GetUInt64());
        Assert.Equal(1, jsz.GetProperty("api").GetProperty("errors").GetInt64());
        Assert.Equal(account.Api.Errors, jsz.GetProperty("api").GetProperty("errors").GetUInt64());
        Assert.False(jsz.TryGetProperty("account_details", out _));

        var accounts = await MonitorHttp.GetJsonAsync(port, "/jsz?accounts=true");
        var detail = Assert.Single(accounts.GetProperty("account_details").EnumerateArray());
        Assert.Equal("$G", detail.GetProperty("name").GetString());
        Assert.Equal("$G", detail.GetProperty("id").GetString());
        Assert.Equal((long)orders.Bytes, detail.GetProperty("storage").GetInt64());
        Assert.Equal((long)cache.Bytes, detail.GetProperty("memory").GetInt64());
        Assert.Equal(account.Api.Total, detail.GetProperty("api").GetProperty("total").GetUInt64());
        Assert.False(detail.TryGetProperty("stream_detail", out _));

        var streams = Assert.Single((await MonitorHttp.GetJsonAsync(port, "/jsz?streams=true")).GetProperty("account_details").EnumerateArray());
        var streamDetail = streams.GetProperty("stream_detail").EnumerateArray().ToList();
        Assert.Equal(["CACHE", "ORDERS"], streamDetail.Select(s => s.GetProperty("name").GetString()!).ToArray());
        var ordersDetail = streamDetail[1];
        Assert.Equal(jsz.GetProperty("server_id").GetString(), ordersDetail.GetProperty("cluster").GetProperty("leader").GetString());
        Assert.Equal(JetStreamTraffic.OrdersMessages, ordersDetail.GetProperty("state").GetProperty("messages").GetInt64());
        Assert.Equal((long)orders.Bytes, ordersDetail.GetProperty("state").GetProperty("bytes").GetInt64());
        Assert.Equal(1, ordersDetail.GetProperty("state").GetProperty("consumer_count").GetInt32());
        Assert.Equal(JetStreamTraffic.CacheMessages, streamDetail[0].GetProperty("state").GetProperty("messages").GetInt64());
        Assert.False(ordersDetail.TryGetProperty("config", out _));
        Assert.False(ordersDetail.TryGetProperty("consumer_detail", out _));

        var consumers = Assert.Single((await MonitorHttp.GetJsonAsync(port, "/jsz?consumers=true")).GetProperty("account_details").EnumerateArray());
        var ordersWithConsumers = consumers.GetProperty("stream_detail").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "ORDERS");
        var consumer = Assert.Single(ordersWithConsumers.GetProperty("consumer_detail").EnumerateArray());
        Assert.Equal("ORDERS", consumer.GetProperty("stream_name").GetString());
        Assert.Equal("dur", consumer.GetProperty("name").GetString());
        Assert.Equal(1UL, consumer.GetProperty("delivered").GetProperty("stream_seq").GetUInt64());
        Assert.Equal(1UL, consumer.GetProperty("ack_floor").GetProperty("stream_seq").GetUInt64());
        Assert.Equal(JetStreamTraffic.OrdersMessages - 1, consumer.GetProperty("num_pending").GetInt64());
        Assert.Equal(0, consumer.GetProperty("num_ack_pending").GetInt64());
        Assert.False(consumer.TryGetProperty("config", out _));

        var configured = Assert.Single((await MonitorHttp.GetJsonAsync(port, "/jsz?consumers=true&config=true")).GetProperty("account_details").EnumerateArray());
        var configuredOrders = configured.GetProperty("stream_detail").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "ORDERS");
        Assert.Equal("orders.>", configuredOrders.GetProperty("config").GetProperty("subjects")[0].GetString());
        Assert.Equal("explicit", configuredOrders.GetProperty("consumer_detail")[0].GetProperty("config").GetProperty("ack_policy").GetString());

        Assert.Single((await MonitorHttp.GetJsonAsync(port, "/jsz?acc=$G")).GetProperty("account_details").EnumerateArray());
        Assert.False((await MonitorHttp.GetJsonAsync(port, "/jsz?acc=nope")).TryGetProperty("account_details", out _));
        Assert.False((await MonitorHttp.GetJsonAsync(port, "/jsz?accounts=true&offset=1")).TryGetProperty("account_details", out _));
        Assert.Equal((HttpStatusCode.BadRequest, "Error decoding boolean for 'accounts': strconv.ParseBool: parsing \"yes\": invalid syntax"),
            await MonitorHttp.GetAsync(port, "/jsz?accounts=yes"));
    }

    [Fact]
    public async Task Without_jetstream_jsz_says_disabled()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: false);
        var jsz = await MonitorHttp.GetJsonAsync(silo.HttpPort, "/jsz?accounts=true");
        Assert.True(jsz.GetProperty("disabled").GetBoolean());
        Assert.Equal(0, jsz.GetProperty("streams").GetInt32());
        Assert.Equal(0, jsz.GetProperty("accounts").GetInt32());
        Assert.Equal(0, jsz.GetProperty("config").GetProperty("max_memory").GetInt64());
        Assert.False(jsz.TryGetProperty("account_details", out _));
    }
}
