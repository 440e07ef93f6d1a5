using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>Workqueue and interest retention: acked messages leave the stream.</summary>
[Collection(ServersCollection.Name)]
public sealed class RetentionTests(ServersFixture servers) : IAsyncLifetime
{
    private NatsConnection _nats = null!;
    private INatsJSContext _js = null!;
    private readonly string _name = "R" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

    public async Task InitializeAsync()
    {
        _nats = new NatsConnection(new NatsOpts { Url = servers.Silo.Url });
        await _nats.ConnectAsync();
        _js = _nats.CreateJetStreamContext();
    }

    public async Task DisposeAsync() => await _nats.DisposeAsync();

    private async Task<long> MessagesEventually(string stream, long expected)
    {
        long messages = -1;
        for (int i = 0; i < 50 && messages != expected; i++)
        {
            messages = (await _js.GetStreamAsync(stream)).Info.State.Messages;
            if (messages != expected) await Task.Delay(100);
        }
        return messages;
    }

    [Fact]
    public async Task Workqueue_removes_acked_messages_and_refuses_overlapping_consumers()
    {
        var stream = _name + "WQ";
        await _js.CreateStreamAsync(new StreamConfig(stream, [$"{stream}.>"]) { Retention = StreamConfigRetention.Workqueue });
        for (int i = 0; i < 10; i++)
            (await _js.PublishAsync($"{stream}.jobs", i)).EnsureSuccess();
        var consumer = await _js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("workers") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        var second = await Assert.ThrowsAsync<NatsJSApiException>(() =>
            _js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("others") { AckPolicy = ConsumerConfigAckPolicy.Explicit }).AsTask());
        Assert.Equal(10099, second.Error.ErrCode);
        int acked = 0;
        await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 6, Expires = TimeSpan.FromSeconds(2) }))
        {
            await msg.AckAsync(new AckOpts { DoubleAck = true });
            acked++;
        }
        Assert.Equal(6, acked);
        Assert.Equal(4, await MessagesEventually(stream, 4));
    }

    [Fact]
    public async Task Interest_keeps_a_message_until_every_consumer_acked_it()
    {
        var stream = _name + "IN";
        await _js.CreateStreamAsync(new StreamConfig(stream, [$"{stream}.>"]) { Retention = StreamConfigRetention.Interest });
        (await _js.PublishAsync($"{stream}.x", -1)).EnsureSuccess();
        Assert.Equal(0, await MessagesEventually(stream, 0));
        var a = await _js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("a") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        var b = await _js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("b") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        for (int i = 0; i < 3; i++)
            (await _js.PublishAsync($"{stream}.x", i)).EnsureSuccess();
        await foreach (var msg in a.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 3, Expires = TimeSpan.FromSeconds(2) }))
            await msg.AckAsync(new AckOpts { DoubleAck = true });
        Assert.Equal(3, await MessagesEventually(stream, 3));
        await foreach (var msg in b.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 2, Expires = TimeSpan.FromSeconds(2) }))
            await msg.AckAsync(new AckOpts { DoubleAck = true });
        Assert.Equal(1, await MessagesEventually(stream, 1));
    }
}
