using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Core;

/// <summary>Core NATS through the NATS.Net client over TCP, as an application uses it.</summary>
[Collection(ServersCollection.Name)]
public sealed class CorePubSubTests(ServersFixture servers)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private async Task<NatsConnection> ConnectAsync()
    {
        var nats = new NatsConnection(new NatsOpts { Url = servers.Silo.Url, Name = "core-tests" });
        await nats.ConnectAsync();
        return nats;
    }

    [Fact]
    public async Task Publish_reaches_subscriber()
    {
        await using var nats = await ConnectAsync();
        await using var sub = await nats.SubscribeCoreAsync<string>("greet.one");
        await nats.PublishAsync("greet.one", "hello");
        using var cts = new CancellationTokenSource(Timeout);
        var msg = await sub.Msgs.ReadAsync(cts.Token);
        Assert.Equal("greet.one", msg.Subject);
        Assert.Equal("hello", msg.Data);
    }

    [Fact]
    public async Task Wildcards_match_tokens()
    {
        await using var nats = await ConnectAsync();
        await using var star = await nats.SubscribeCoreAsync<string>("wc.*.end");
        await using var full = await nats.SubscribeCoreAsync<string>("wc.>");
        await nats.PublishAsync("wc.a.end", "1");
        await nats.PublishAsync("wc.a.b.end", "2");
        await nats.PingAsync();
        using var cts = new CancellationTokenSource(Timeout);
        Assert.Equal("1", (await star.Msgs.ReadAsync(cts.Token)).Data);
        Assert.Equal("1", (await full.Msgs.ReadAsync(cts.Token)).Data);
        Assert.Equal("2", (await full.Msgs.ReadAsync(cts.Token)).Data);
        await Task.Delay(100);
        Assert.False(star.Msgs.TryRead(out _), "wc.*.end must not match wc.a.b.end");
    }

    [Fact]
    public async Task Queue_group_delivers_each_message_once()
    {
        await using var nats = await ConnectAsync();
        await using var other = await ConnectAsync();
        await using var q1 = await nats.SubscribeCoreAsync<int>("work", queueGroup: "workers");
        await using var q2 = await other.SubscribeCoreAsync<int>("work", queueGroup: "workers");
        await using var plain = await nats.SubscribeCoreAsync<int>("work");
        await other.PingAsync();
        const int count = 200;
        for (int i = 0; i < count; i++)
            await nats.PublishAsync("work", i);
        var seen = new List<int>();
        using var cts = new CancellationTokenSource(Timeout);
        for (int i = 0; i < count; i++)
            Assert.Equal(i, (await plain.Msgs.ReadAsync(cts.Token)).Data);
        while (seen.Count < count)
        {
            if (q1.Msgs.TryRead(out var a)) seen.Add(a.Data);
            else if (q2.Msgs.TryRead(out var b)) seen.Add(b.Data);
            else await Task.Delay(10, cts.Token);
        }
        Assert.Equal(Enumerable.Range(0, count), seen.Order());
        await Task.Delay(100);
        Assert.False(q1.Msgs.TryRead(out _) || q2.Msgs.TryRead(out _), "a queue group must get each message exactly once");
    }

    [Fact]
    public async Task Request_reply()
    {
        await using var service = await ConnectAsync();
        await using var client = await ConnectAsync();
        await using var sub = await service.SubscribeCoreAsync<string>("svc.echo");
        var responder = Task.Run(async () =>
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync())
            {
                await msg.ReplyAsync("echo:" + msg.Data);
            }
        });
        await service.PingAsync();
        for (int i = 0; i < 5; i++)
        {
            var reply = await client.RequestAsync<string, string>("svc.echo", $"m{i}");
            Assert.Equal($"echo:m{i}", reply.Data);
        }
    }

    [Fact]
    public async Task Request_without_responders_fails_fast()
    {
        await using var nats = await ConnectAsync();
        await Assert.ThrowsAsync<NatsNoRespondersException>(async () =>
            await nats.RequestAsync<string, string>("nobody.home", "hi", replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(5) }));
    }

    [Fact]
    public async Task Headers_round_trip()
    {
        await using var nats = await ConnectAsync();
        await using var sub = await nats.SubscribeCoreAsync<string>("hdr");
        await nats.PublishAsync("hdr", "body", headers: new NatsHeaders { ["X-One"] = "1", ["X-Two"] = new[] { "a", "b" } });
        using var cts = new CancellationTokenSource(Timeout);
        var msg = await sub.Msgs.ReadAsync(cts.Token);
        Assert.Equal("body", msg.Data);
        Assert.Equal("1", msg.Headers!["X-One"].ToString());
        Assert.Equal(new[] { "a", "b" }, msg.Headers["X-Two"].ToArray());
    }

    [Fact]
    public async Task Payload_of_max_payload_round_trips_and_larger_is_refused()
    {
        await using var nats = await ConnectAsync();
        Assert.Equal(1024 * 1024, nats.ServerInfo!.MaxPayload);
        await using var sub = await nats.SubscribeCoreAsync<byte[]>("big");
        var payload = new byte[1024 * 1024];
        new Random(7).NextBytes(payload);
        await nats.PublishAsync("big", payload);
        using var cts = new CancellationTokenSource(Timeout);
        var msg = await sub.Msgs.ReadAsync(cts.Token);
        Assert.Equal(payload, msg.Data);
        await Assert.ThrowsAnyAsync<NatsException>(async () => await nats.PublishAsync("big", new byte[1024 * 1024 + 1]));
    }

    [Fact]
    public async Task Thousands_of_subscriptions()
    {
        await using var nats = await ConnectAsync();
        const int count = 3000;
        var subs = new List<INatsSub<int>>();
        for (int i = 0; i < count; i++)
            subs.Add(await nats.SubscribeCoreAsync<int>($"many.{i}"));
        for (int i = 0; i < count; i++)
            await nats.PublishAsync($"many.{i}", i);
        using var cts = new CancellationTokenSource(Timeout);
        for (int i = 0; i < count; i++)
            Assert.Equal(i, (await subs[i].Msgs.ReadAsync(cts.Token)).Data);
        foreach (var sub in subs)
            await sub.DisposeAsync();
    }

    [Fact]
    public async Task Unsubscribe_with_max_stops_after_max()
    {
        await using var nats = await ConnectAsync();
        await using var sub = await nats.SubscribeCoreAsync<int>("limited", opts: new NatsSubOpts { MaxMsgs = 3 });
        for (int i = 0; i < 10; i++)
            await nats.PublishAsync("limited", i);
        var got = new List<int>();
        using var cts = new CancellationTokenSource(Timeout);
        await foreach (var msg in sub.Msgs.ReadAllAsync(cts.Token))
            got.Add(msg.Data);
        Assert.Equal(new[] { 0, 1, 2 }, got);
    }
}
