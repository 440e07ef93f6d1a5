using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;

namespace Platform.IntegrationTests.Monitoring;

/// <summary>
/// A file stream ORDERS (orders.&gt;) with three messages and a durable pull consumer "dur" that has fetched and
/// acked one of them; optionally a memory stream CACHE with two. Leaves the connection open for the test.
/// </summary>
public sealed class JetStreamTraffic : IAsyncDisposable
{
    public const int OrdersMessages = 3;
    public const int CacheMessages = 2;

    private JetStreamTraffic(NatsConnection nats, INatsJSContext js)
    {
        Nats = nats;
        Js = js;
    }

    public NatsConnection Nats { get; }
    public INatsJSContext Js { get; }

    public static async Task<JetStreamTraffic> StartAsync(string url, bool memoryStream)
    {
        // First stream, first consumer: grain activations on a fresh server, seconds on a loaded machine (5 s, NATS.Net's
        // default, ran out once at a load average of 40).
        var nats = new NatsConnection(new NatsOpts { Url = url, Name = "js", RequestTimeout = TimeSpan.FromSeconds(20) });
        var js = nats.CreateJetStreamContext();
        await js.CreateStreamAsync(new StreamConfig("ORDERS", ["orders.>"]));
        for (int i = 0; i < OrdersMessages; i++)
            (await js.PublishAsync("orders.new", "abc")).EnsureSuccess();
        if (memoryStream)
        {
            await js.CreateStreamAsync(new StreamConfig("CACHE", ["cache.*"]) { Storage = StreamConfigStorage.Memory });
            for (int i = 0; i < CacheMessages; i++)
                (await js.PublishAsync($"cache.k{i}", "value")).EnsureSuccess();
        }
        var consumer = await js.CreateOrUpdateConsumerAsync("ORDERS", new ConsumerConfig("dur") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        var msg = await consumer.NextAsync<string>(opts: new NatsJSNextOpts { Expires = TimeSpan.FromSeconds(5) });
        Assert.NotNull(msg);
        await msg.AckAsync(new AckOpts { DoubleAck = true });
        return new JetStreamTraffic(nats, js);
    }

    public ValueTask DisposeAsync() => Nats.DisposeAsync();
}
