using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.Grains.Client;
using Platform.Grains.Streaming;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Orleans;

/// <summary>
/// An external Orleans client over TCP (the silo's Orleans gateway port) using <see cref="PlatformStreams"/>, with a
/// NATS client on the same silo: what one side writes the other reads.
/// </summary>
public sealed class ExternalClientTests
{
    [Fact]
    public async Task Messages_published_through_the_orleans_client_are_read_by_a_nats_jetstream_consumer()
    {
        await using var silo = await SiloProcess.StartAsync();
        using var client = await ConnectAsync(silo);
        var streams = new PlatformStreams(client.Services.GetRequiredService<IClusterClient>());

        await streams.CreateStreamAsync(new Grains.Streams.PlatformStreamConfig { Name = "ORL", Subjects = ["orl.>"] });
        var batch = Enumerable.Range(0, 50)
            .Select(i => new OutgoingMessage($"orl.{i % 5}", Encoding.UTF8.GetBytes($"m{i}"),
                new Dictionary<string, string> { ["X-Index"] = i.ToString() }))
            .ToArray();
        var acks = await streams.PublishAsync("ORL", batch);
        var single = await streams.PublishAsync("ORL", "orl.last", "last"u8.ToArray());
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (ulong)i), acks.Select(a => a.Sequence));
        Assert.Equal(51ul, single.Sequence);

        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();
        var consumer = await js.CreateOrUpdateConsumerAsync("ORL", new ConsumerConfig("nats-reader") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        var got = new List<INatsJSMsg<string>>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 51, Expires = TimeSpan.FromSeconds(5) }, cancellationToken: timeout.Token))
        {
            got.Add(msg);
            await msg.AckAsync(cancellationToken: timeout.Token);
        }

        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"m{i}").Append("last"), got.Select(m => m.Data));
        Assert.Equal(Enumerable.Range(1, 51).Select(i => (ulong)i), got.Select(m => m.Metadata!.Value.Sequence.Stream));
        Assert.Equal("orl.2", got[7].Subject);
        Assert.Equal("7", got[7].Headers!["X-Index"].ToString());
    }

    [Fact]
    public async Task Messages_published_by_a_nats_client_are_consumed_through_the_orleans_client()
    {
        await using var silo = await SiloProcess.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();
        await js.CreateStreamAsync(new StreamConfig("FROMNATS", ["fromnats.>"]));
        for (int i = 0; i < 20; i++)
            (await js.PublishAsync($"fromnats.{i % 2}", $"n{i}", headers: new NatsHeaders { ["X-I"] = i.ToString() })).EnsureSuccess();

        using var client = await ConnectAsync(silo);
        var streams = new PlatformStreams(client.Services.GetRequiredService<IClusterClient>());
        var got = new List<ConsumedMessage>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var m in streams.ConsumeAsync("FROMNATS", "orleans-reader", new ConsumeOptions { BatchSize = 8 }, timeout.Token))
        {
            got.Add(m);
            if (got.Count == 20)
                break;
        }

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"n{i}"), got.Select(m => Encoding.UTF8.GetString(m.Payload.Span)));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (ulong)i), got.Select(m => m.StreamSequence));
        Assert.Equal("13", got[13].Headers["X-I"]);
        Assert.Equal("fromnats.1", got[13].Subject);
        // The batches before the last were acked; NATS sees them in the consumer's ack floor.
        var info = await js.GetConsumerAsync("FROMNATS", "orleans-reader");
        Assert.Equal(19ul, info.Info.AckFloor.StreamSeq);
    }

    [Fact]
    public async Task A_stream_created_through_the_orleans_client_captures_nats_publishes_at_once()
    {
        await using var silo = await SiloProcess.StartAsync();
        using var client = await ConnectAsync(silo);
        var streams = new PlatformStreams(client.Services.GetRequiredService<IClusterClient>());
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();

        await streams.CreateStreamAsync(new Grains.Streams.PlatformStreamConfig { Name = "ORLCAP", Subjects = ["orlcap.>"] });
        // The capture table is updated before the create returns: the first publish is stored and acked.
        var ack = await js.PublishAsync("orlcap.a", "first");
        ack.EnsureSuccess();
        Assert.Equal(("ORLCAP", 1ul), (ack.Stream, ack.Seq));
        Assert.Equal(1, (await js.GetStreamAsync("ORLCAP")).Info.State.Messages);
    }

    [Fact]
    public async Task A_nats_client_acks_a_consumer_that_this_gateway_never_served()
    {
        await using var silo = await SiloProcess.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();
        await js.CreateStreamAsync(new StreamConfig("UNSERVED", ["unserved.>"]));
        (await js.PublishAsync("unserved.a", "one")).EnsureSuccess();

        // Made and fetched through grains only, as a consumer served by another silo of a cluster is.
        using var client = await ConnectAsync(silo);
        var grains = client.Services.GetRequiredService<IClusterClient>();
        var created = await grains.GetGrain<Grains.Streams.IStreamGrain>("UNSERVED").AddConsumer(
            new Grains.Consumers.PlatformConsumerConfig { DurableName = "remote", AckPolicy = Grains.Consumers.AckPolicy.Explicit }.WithDefaults());
        Assert.Null(created.Error);
        var consumer = grains.GetGrain<Grains.Consumers.IConsumerGrain>(Grains.Consumers.ConsumerKey.Of("UNSERVED", "remote"));
        Assert.Equal(1, (await consumer.Fetch(1, 0, TimeSpan.FromSeconds(1), Platform.Grains.Consumers.AckOp.None)).Value.Count);

        // An AckSync through NATS: answered once applied, and the ack floor moves.
        var reply = await nats.RequestAsync<string, string>("$JS.ACK.UNSERVED.remote.1.1.1.0.0", "+ACK",
            replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(10) });
        Assert.True(string.IsNullOrEmpty(reply.Data));
        Assert.Equal(1ul, await consumer.AckFloor());
    }

    [Fact]
    public async Task AddPlatformStreamsClient_gives_PlatformStreams_in_DI_and_the_provider_with_the_silos_namespaces()
    {
        await using var silo = await SiloProcess.StartAsync(extraArgs: ["--orleans_streams", "sensors"]);
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleansClient(c => c.UseLocalhostClustering(silo.OrleansGatewayPort).AddPlatformStreamsClient());
        using var client = builder.Build();
        await client.StartAsync();

        var streams = client.Services.GetRequiredService<PlatformStreams>();
        await streams.CreateStreamAsync(new Grains.Streams.PlatformStreamConfig { Name = "DI", Subjects = ["di.>"] });
        Assert.Equal(1ul, (await streams.PublishAsync("DI", "di.a", "x"u8.ToArray())).Sequence);
        await client.Services.GetRequiredService<IClusterClient>().GetStreamProvider("platform")
            .GetStream<string>(global::Orleans.Runtime.StreamId.Create("sensors", "k")).OnNextAsync("reading");
        var stored = await streams.GetLastMessageAsync("sensors", "sensors.k");
        Assert.Equal("\"reading\"", Encoding.UTF8.GetString(stored.Payload.Span));
    }

    /// <summary>An Orleans client host connected to the silo process's gateway port, as a separate service would run it.</summary>
    internal static async Task<IHost> ConnectAsync(SiloProcess silo)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleansClient(c => c.UseLocalhostClustering(silo.OrleansGatewayPort));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }
}
