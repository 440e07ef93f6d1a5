using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Orleans.Runtime;
using Orleans.Streams;
using Platform.Grains.Streaming;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Orleans;

public sealed record SensorReading(string Room, double Celsius);

/// <summary>
/// The Orleans stream provider in the real silo process (-js --orleans_streams sensors): NATS.Net publishes to the
/// JetStream stream "sensors", and an Orleans subscriber on IAsyncStream (here an external client's, over TCP)
/// receives the messages in order with the stream sequence as token; events produced through Orleans are read back
/// by NATS.Net as JSON with the Orleans-Type header.
/// </summary>
public sealed class StreamProviderInteropTests
{
    [Fact]
    public async Task Nats_publishes_reach_an_orleans_stream_subscriber_in_order_and_orleans_events_reach_nats()
    {
        await using var silo = await SiloProcess.StartAsync(extraArgs: ["--orleans_streams", "sensors"]);
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();
        // The provider may already have created the stream on start; create-or-update keeps it either way.
        await js.CreateOrUpdateStreamAsync(new StreamConfig("sensors", ["sensors.>"]));

        using var client = await ConnectWithProviderAsync(silo);
        var stream = client.Services.GetRequiredService<IClusterClient>().GetStreamProvider("platform")
            .GetStream<SensorReading>(StreamId.Create("sensors", "room1"));
        var received = new ConcurrentQueue<(long Sequence, SensorReading Reading)>();
        var handle = await stream.SubscribeAsync((reading, token) =>
        {
            received.Enqueue((token!.SequenceNumber, reading));
            return Task.CompletedTask;
        });

        var sequences = new List<ulong>();
        for (int i = 0; i < 10; i++)
        {
            var ack = await js.PublishAsync("sensors.room1", JsonSerializer.SerializeToUtf8Bytes(new SensorReading("room1", 20 + i)));
            ack.EnsureSuccess();
            sequences.Add(ack.Seq);
        }
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (received.Count < 10 && DateTime.UtcNow < deadline)
            await Task.Delay(50);

        Assert.Equal(sequences.Select(s => (long)s), received.Select(r => r.Sequence));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 20.0 + i), received.Select(r => r.Reading.Celsius));

        // The other direction: an event produced through the provider is a JetStream message NATS clients can read.
        await client.Services.GetRequiredService<IClusterClient>().GetStreamProvider("platform")
            .GetStream<SensorReading>(StreamId.Create("sensors", "room2")).OnNextAsync(new SensorReading("room2", 5));
        var consumer = await js.CreateOrUpdateConsumerAsync("sensors", new ConsumerConfig("reader") { FilterSubject = "sensors.room2" });
        var msg = await consumer.NextAsync<string>();
        Assert.NotNull(msg);
        Assert.Equal("""{"Room":"room2","Celsius":5}""", msg.Data);
        Assert.Equal(EventCodec.TypeName(typeof(SensorReading)), msg.Headers![EventCodec.TypeHeader].ToString());
        await handle.UnsubscribeAsync();
    }

    [Fact]
    public async Task A_key_that_makes_no_valid_subject_is_refused_and_a_nats_consumer_reads_only_well_formed_messages()
    {
        await using var silo = await SiloProcess.StartAsync(extraArgs: ["--orleans_streams", "sensors"]);
        using var client = await ConnectWithProviderAsync(silo);
        var provider = client.Services.GetRequiredService<IClusterClient>().GetStreamProvider("platform");

        await provider.GetStream<SensorReading>(StreamId.Create("sensors", "before")).OnNextAsync(new SensorReading("before", 1));
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            provider.GetStream<SensorReading>(StreamId.Create("sensors", "a b")).OnNextAsync(new SensorReading("a b", 2)));
        Assert.Contains("\"sensors.a b\" is not a valid subject", error.Message);
        await provider.GetStream<SensorReading>(StreamId.Create("sensors", "after")).OnNextAsync(new SensorReading("after", 3));

        // A stored "sensors.a b" would reach NATS.Net as an HMSG with one argument too many, which disconnects it.
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();
        var consumer = await js.CreateOrUpdateConsumerAsync("sensors", new ConsumerConfig("checker"));
        var subjects = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 10, Expires = TimeSpan.FromSeconds(2) }, cancellationToken: timeout.Token))
        {
            subjects.Add(msg.Subject);
            await msg.AckAsync(cancellationToken: timeout.Token);
        }
        Assert.Equal(["sensors.before", "sensors.after"], subjects);
        Assert.Equal(2, (await js.GetStreamAsync("sensors")).Info.State.Messages);
        Assert.Equal(NatsConnectionState.Open, nats.ConnectionState);
    }

    [Fact]
    public async Task A_nats_message_that_is_not_json_is_dead_lettered_by_an_external_subscriber_and_the_next_reading_follows_at_once()
    {
        await using var silo = await SiloProcess.StartAsync(extraArgs: ["--orleans_streams", "sensors"]);
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();
        await js.CreateOrUpdateStreamAsync(new StreamConfig("sensors", ["sensors.>"]));
        // The subscriber's process reads the events, so its provider options say where dead letters go.
        using var client = await ConnectWithProviderAsync(silo, o => o.DeadLetterStream = "dead");
        var stream = client.Services.GetRequiredService<IClusterClient>().GetStreamProvider("platform")
            .GetStream<SensorReading>(StreamId.Create("sensors", "room1"));
        var received = new ConcurrentQueue<(long Sequence, SensorReading Reading)>();
        var handle = await stream.SubscribeAsync((reading, token) =>
        {
            received.Enqueue((token!.SequenceNumber, reading));
            return Task.CompletedTask;
        });

        (await js.PublishAsync("sensors.room1", "21.5 C"u8.ToArray())).EnsureSuccess();
        var good = await js.PublishAsync("sensors.room1", JsonSerializer.SerializeToUtf8Bytes(new SensorReading("room1", 22)));
        // The agent retries a failed delivery for a minute; a skipped event lets the next one through at once.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (received.IsEmpty && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal([((long)good.Seq, new SensorReading("room1", 22))], received);

        // The dead letter is written in the background: wait for its stream.
        var written = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < written && !await js.ListStreamNamesAsync().AnyAsync(name => name == "dead"))
            await Task.Delay(50);
        var consumer = await js.CreateOrUpdateConsumerAsync("dead", new ConsumerConfig("reader"));
        var dead = await consumer.NextAsync<string>(opts: new NatsJSNextOpts { Expires = TimeSpan.FromSeconds(10) });
        Assert.NotNull(dead);
        Assert.Equal(("dead.sensors", "21.5 C"), (dead.Subject, dead.Data));
        Assert.Equal("sensors.room1", dead.Headers![ProviderFailureHandler.DeadLetterStreamHeader].ToString());
        Assert.Equal((good.Seq - 1).ToString(), dead.Headers[ProviderFailureHandler.DeadLetterSequenceHeader].ToString());
        await handle.UnsubscribeAsync();
    }

    [Fact]
    public async Task A_client_with_a_provider_name_or_namespace_the_silos_do_not_serve_fails_to_start_with_the_reason()
    {
        await using var silo = await SiloProcess.StartAsync(extraArgs: ["--orleans_streams", "sensors"]);

        var wrongName = await Assert.ThrowsAnyAsync<Exception>(() => StartClientAsync(silo, "other", o => o.Namespaces.Add("sensors")));
        Assert.Contains("no platform stream provider named \"other\"", wrongName.ToString());
        var wrongNamespace = await Assert.ThrowsAnyAsync<Exception>(() => StartClientAsync(silo, "platform", o => o.Namespaces.Add("nosuch")));
        Assert.Contains("\"nosuch\" is configured on this client but not served", wrongNamespace.ToString());
        Assert.Contains("it serves: sensors", wrongNamespace.ToString());
    }

    [Fact]
    public async Task A_client_that_lists_no_namespaces_learns_them_from_the_cluster_and_refuses_others()
    {
        await using var silo = await SiloProcess.StartAsync(extraArgs: ["--orleans_streams", "sensors"]);
        using var client = await StartClientAsync(silo, "platform", _ => { });
        var provider = client.Services.GetRequiredService<IClusterClient>().GetStreamProvider("platform");
        var received = new ConcurrentQueue<SensorReading>();
        await provider.GetStream<SensorReading>(StreamId.Create("sensors", "hall")).SubscribeAsync((r, _) =>
        {
            received.Enqueue(r);
            return Task.CompletedTask;
        });

        await provider.GetStream<SensorReading>(StreamId.Create("sensors", "hall")).OnNextAsync(new SensorReading("hall", 19));
        var refused = await Assert.ThrowsAsync<ArgumentException>(() =>
            provider.GetStream<SensorReading>(StreamId.Create("orders", "o1")).OnNextAsync(new SensorReading("o1", 0)));
        Assert.Contains("\"orders\" is not served by the platform stream provider \"platform\" (it serves: sensors)", refused.Message);

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (received.IsEmpty && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal([new SensorReading("hall", 19)], received);
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();
        await Assert.ThrowsAsync<NatsJSApiException>(() => js.GetStreamAsync("orders").AsTask());
    }

    private static async Task<IHost> StartClientAsync(SiloProcess silo, string provider, Action<PlatformStreamOptions> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleansClient(c => c.UseLocalhostClustering(silo.OrleansGatewayPort).AddPlatformStreams(provider, configure));
        var client = builder.Build();
        try
        {
            await client.StartAsync();
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>A client of the provider "platform" that lists the namespace "sensors" itself.</summary>
    private static Task<IHost> ConnectWithProviderAsync(SiloProcess silo, Action<PlatformStreamOptions>? configure = null) =>
        StartClientAsync(silo, "platform", o =>
        {
            o.Namespaces.Add("sensors");
            configure?.Invoke(o);
        });
}
