using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>Workqueue and interest retention: acked messages leave the stream.</summary>
[Collection(ServersCollection.Name)]
public sealed class RetentionTests(ServersFixture servers) : SiloClientTests(servers)
{
    private readonly string _name = "R" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

    [Fact]
    public async Task Workqueue_removes_acked_messages_and_refuses_overlapping_consumers()
    {
        var stream = _name + "WQ";
        await Js.CreateStreamAsync(new StreamConfig(stream, [$"{stream}.>"]) { Retention = StreamConfigRetention.Workqueue });
        for (int i = 0; i < 10; i++)
            (await Js.PublishAsync($"{stream}.jobs", i)).EnsureSuccess();
        var consumer = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("workers") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        var second = await Assert.ThrowsAsync<NatsJSApiException>(() =>
            Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("others") { AckPolicy = ConsumerConfigAckPolicy.Explicit }).AsTask());
        Assert.Equal(10099, second.Error.ErrCode);
        Assert.Equal(6, await JetStreamSteps.FetchAndAckAsync(consumer, 6));
        Assert.Equal(4, await JetStreamSteps.MessagesEventuallyAsync(Js, stream, 4));
    }

    [Fact]
    public async Task Interest_keeps_a_message_until_every_consumer_acked_it()
    {
        var stream = _name + "IN";
        await Js.CreateStreamAsync(new StreamConfig(stream, [$"{stream}.>"]) { Retention = StreamConfigRetention.Interest });
        (await Js.PublishAsync($"{stream}.x", -1)).EnsureSuccess();
        Assert.Equal(0, await JetStreamSteps.MessagesEventuallyAsync(Js, stream, 0));
        var a = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("a") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        var b = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("b") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        for (int i = 0; i < 3; i++)
            (await Js.PublishAsync($"{stream}.x", i)).EnsureSuccess();
        Assert.Equal(3, await JetStreamSteps.FetchAndAckAsync(a, 3));
        Assert.Equal(3, await JetStreamSteps.MessagesEventuallyAsync(Js, stream, 3));
        Assert.Equal(2, await JetStreamSteps.FetchAndAckAsync(b, 2));
        Assert.Equal(1, await JetStreamSteps.MessagesEventuallyAsync(Js, stream, 1));
    }

    /// <summary>
    /// nats-server 2.10's rule: limits and interest swap on an update, a work queue's retention is fixed (2.9.10
    /// refuses both, with "can not change retention policy").
    /// </summary>
    [Fact]
    public async Task Retention_changes_between_limits_and_interest_but_never_to_or_from_a_work_queue()
    {
        var stream = _name + "CH";
        var config = new StreamConfig(stream, [$"{stream}.>"]);
        await Js.CreateStreamAsync(config);
        var interest = await Js.UpdateStreamAsync(config with { Retention = StreamConfigRetention.Interest });
        Assert.Equal(StreamConfigRetention.Interest, interest.Info.Config.Retention);
        var refused = await Assert.ThrowsAsync<NatsJSApiException>(() =>
            Js.UpdateStreamAsync(config with { Retention = StreamConfigRetention.Workqueue }).AsTask());
        Assert.Equal((10052, "stream configuration update can not change retention policy to/from workqueue"), (refused.Error.ErrCode, refused.Error.Description));

        var queue = new StreamConfig(stream + "Q", [$"{stream}q.>"]) { Retention = StreamConfigRetention.Workqueue };
        await Js.CreateStreamAsync(queue);
        refused = await Assert.ThrowsAsync<NatsJSApiException>(() =>
            Js.UpdateStreamAsync(queue with { Retention = StreamConfigRetention.Limits }).AsTask());
        Assert.Equal(10052, refused.Error.ErrCode);
        Assert.Equal(StreamConfigRetention.Workqueue, (await Js.GetStreamAsync(stream + "Q")).Info.Config.Retention);
    }
}
