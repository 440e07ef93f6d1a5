using System.Text;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.Grains.Client;
using Platform.IntegrationTests.Infrastructure;
using OrleansAckPolicy = Platform.Grains.Consumers.AckPolicy;
using OrleansConsumerConfig = Platform.Grains.Consumers.PlatformConsumerConfig;
using OrleansStreamConfig = Platform.Grains.Streams.PlatformStreamConfig;

namespace Platform.IntegrationTests.Orleans;

/// <summary>
/// Each PlatformStreams management operation against a real silo process, both ways: what an external Orleans client
/// does, NATS.Net sees, and what NATS.Net does, the Orleans client sees.
/// </summary>
public sealed class PlatformStreamsInteropTests
{
    [Fact]
    public async Task Stream_info_update_and_list_both_ways()
    {
        await using var silo = await SiloProcess.StartAsync();
        var (client, streams, js, nats) = await ConnectBothAsync(silo);
        await using var _ = nats;
        using var __ = client;

        await streams.CreateStreamAsync(new OrleansStreamConfig { Name = "FROMORL", Subjects = ["fromorl.>"] });
        await js.CreateStreamAsync(new StreamConfig("FROMNATS", ["fromnats.>"]));
        for (int i = 0; i < 3; i++)
            (await js.PublishAsync($"fromnats.{i}", $"n{i}")).EnsureSuccess();

        var info = await streams.GetStreamInfoAsync("FROMNATS");
        Assert.Equal((3ul, 3ul, "fromnats.>"), (info.State.Messages, info.State.LastSequence, Assert.Single(info.Config.Subjects)));

        await streams.UpdateStreamAsync(info.Config with { MaxMsgs = 10, Description = "set by orleans" });
        var seenByNats = (await js.GetStreamAsync("FROMNATS")).Info.Config;
        Assert.Equal((10L, "set by orleans"), (seenByNats.MaxMsgs, seenByNats.Description));

        var natsView = (await js.GetStreamAsync("FROMORL")).Info.Config;
        natsView.MaxMsgs = 7;
        natsView.Description = "set by nats";
        await js.UpdateStreamAsync(natsView);
        var orleansView = (await streams.GetStreamInfoAsync("FROMORL")).Config;
        Assert.Equal((7L, "set by nats"), (orleansView.MaxMsgs, orleansView.Description));

        Assert.Equal(["FROMNATS", "FROMORL"], (await streams.ListStreamsAsync()).Select(c => c.Name).Order());
    }

    [Fact]
    public async Task Purge_and_delete_both_ways()
    {
        await using var silo = await SiloProcess.StartAsync();
        var (client, streams, js, nats) = await ConnectBothAsync(silo);
        await using var _ = nats;
        using var __ = client;
        await js.CreateStreamAsync(new StreamConfig("PURGED", ["purged.>"]));
        await js.CreateStreamAsync(new StreamConfig("DROPPED", ["dropped.>"]));
        foreach (var subject in new[] { "purged.a", "purged.b", "purged.a", "purged.c" })
            (await js.PublishAsync(subject, "x")).EnsureSuccess();

        Assert.Equal(2ul, await streams.PurgeStreamAsync("PURGED", filter: "purged.a"));
        var state = (await js.GetStreamAsync("PURGED")).Info.State;
        Assert.Equal((2L, 2ul), (state.Messages, state.FirstSeq));
        await js.PurgeStreamAsync("PURGED", new StreamPurgeRequest());
        Assert.Equal(0ul, (await streams.GetStreamInfoAsync("PURGED")).State.Messages);

        Assert.True(await streams.DeleteStreamAsync("PURGED"));
        var gone = await Assert.ThrowsAsync<NatsJSApiException>(() => js.GetStreamAsync("PURGED").AsTask());
        Assert.Equal(10059, gone.Error.ErrCode);
        await js.DeleteStreamAsync("DROPPED");
        Assert.Equal(10059, (await Assert.ThrowsAsync<PlatformStreamException>(() => streams.GetStreamInfoAsync("DROPPED"))).Error.ErrCode);
        Assert.False(await streams.DeleteStreamAsync("DROPPED"));
    }

    [Fact]
    public async Task Message_get_and_delete_both_ways()
    {
        await using var silo = await SiloProcess.StartAsync();
        var (client, streams, js, nats) = await ConnectBothAsync(silo);
        await using var _ = nats;
        using var __ = client;
        await js.CreateStreamAsync(new StreamConfig("MSGS", ["msgs.>"]));
        (await js.PublishAsync("msgs.nats", "from nats", headers: new NatsHeaders { ["X-From"] = "nats" })).EnsureSuccess();
        await streams.PublishAsync("MSGS", "msgs.orleans", "from orleans"u8.ToArray(), new Dictionary<string, string> { ["X-From"] = "orleans" });
        (await js.PublishAsync("msgs.nats", "again")).EnsureSuccess();

        var first = await streams.GetMessageAsync("MSGS", 1);
        Assert.Equal(("msgs.nats", "from nats", "nats"), (first.Subject, Encoding.UTF8.GetString(first.Payload.Span), first.Headers["X-From"]));
        Assert.Equal(3ul, (await streams.GetLastMessageAsync("MSGS", "msgs.nats")).Sequence);
        var second = await GetByNatsAsync(js, "MSGS", 2);
        Assert.Equal(("msgs.orleans", "from orleans"), (second.Subject, second.Text));
        Assert.Contains("X-From: orleans", second.Headers);

        await streams.DeleteMessageAsync("MSGS", 2);
        var deleted = await Assert.ThrowsAsync<NatsJSApiException>(() => GetByNatsAsync(js, "MSGS", 2));
        Assert.Equal(10037, deleted.Error.ErrCode);
        await js.DeleteMessageAsync("MSGS", new StreamMsgDeleteRequest { Seq = 1 });
        Assert.Equal(10037, (await Assert.ThrowsAsync<PlatformStreamException>(() => streams.GetMessageAsync("MSGS", 1))).Error.ErrCode);
        Assert.Equal(1L, (await js.GetStreamAsync("MSGS")).Info.State.Messages);
    }

    [Fact]
    public async Task Consumer_create_info_list_and_delete_both_ways()
    {
        await using var silo = await SiloProcess.StartAsync();
        var (client, streams, js, nats) = await ConnectBothAsync(silo);
        await using var _ = nats;
        using var __ = client;
        await js.CreateStreamAsync(new StreamConfig("CONS", ["cons.>"]));
        for (int i = 0; i < 4; i++)
            (await js.PublishAsync($"cons.{i % 2}", $"m{i}")).EnsureSuccess();

        // Made through Orleans, read and acked through NATS.
        await streams.CreateConsumerAsync("CONS", new OrleansConsumerConfig { DurableName = "by-orleans", AckPolicy = OrleansAckPolicy.Explicit, FilterSubject = "cons.1" });
        var natsConsumer = await js.GetConsumerAsync("CONS", "by-orleans");
        Assert.Equal(("cons.1", 2ul), (natsConsumer.Info.Config.FilterSubject, natsConsumer.Info.NumPending));
        var got = new List<string>();
        await foreach (var msg in natsConsumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 2, Expires = TimeSpan.FromSeconds(5) }))
        {
            got.Add(msg.Data!);
            // Answered once applied, so the ack floor below is not a race with the ack.
            await msg.AckAsync(new AckOpts { DoubleAck = true });
        }
        Assert.Equal(["m1", "m3"], got);
        Assert.Equal(4ul, (await streams.GetConsumerInfoAsync("CONS", "by-orleans")).AckFloor.StreamSeq);

        // Made through NATS, seen and deleted through Orleans.
        await js.CreateOrUpdateConsumerAsync("CONS", new ConsumerConfig("by-nats") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        var info = await streams.GetConsumerInfoAsync("CONS", "by-nats");
        Assert.Equal((OrleansAckPolicy.Explicit, 4ul), (info.Config.AckPolicy, info.NumPending));
        Assert.Equal(["by-nats", "by-orleans"], (await streams.ListConsumersAsync("CONS")).Order());
        await streams.DeleteConsumerAsync("CONS", "by-nats");
        var gone = await Assert.ThrowsAsync<NatsJSApiException>(() => js.GetConsumerAsync("CONS", "by-nats").AsTask());
        Assert.Equal(10014, gone.Error.ErrCode);

        // Deleted through NATS, gone for Orleans.
        await js.DeleteConsumerAsync("CONS", "by-orleans");
        Assert.Equal(10014, (await Assert.ThrowsAsync<PlatformStreamException>(() => streams.GetConsumerInfoAsync("CONS", "by-orleans"))).Error.ErrCode);
        Assert.Empty(await streams.ListConsumersAsync("CONS"));
    }

    private static async Task<(IDisposable Client, PlatformStreams Streams, INatsJSContext Js, NatsConnection Nats)> ConnectBothAsync(SiloProcess silo)
    {
        var client = await ExternalClientTests.ConnectAsync(silo);
        var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        return (client, new PlatformStreams(client.Services.GetRequiredService<IClusterClient>()), nats.CreateJetStreamContext(), nats);
    }

    /// <summary>MSG.GET as NATS.Net sends it (its own request type), with the payload decoded.</summary>
    private static async Task<(string Subject, string Text, string Headers)> GetByNatsAsync(INatsJSContext js, string stream, ulong sequence)
    {
        var response = await js.JSRequestResponseAsync<StreamMsgGetRequest, StreamMsgGetResponse>(
            $"$JS.API.STREAM.MSG.GET.{stream}", new StreamMsgGetRequest { Seq = sequence });
        var message = response.Message;
        return (message.Subject, Encoding.UTF8.GetString(message.Data.Span),
            message.Hdrs is { } hdrs ? Encoding.UTF8.GetString(Convert.FromBase64String(hdrs)) : "");
    }
}
