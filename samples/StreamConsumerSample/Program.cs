using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Orleans.Streams;
using Orleans.Streams.Core;
using Platform.Gateway;
using Platform.Grains.Streaming;

// A silo with the NATS gateway and the "platform" Orleans stream provider in one process, as src/Silo runs them.
// A NATS client publishes temperature readings to the JetStream stream "sensors"; RoomGrain, implicitly subscribed to
// the Orleans stream namespace "sensors", receives each room's readings in order (subject sensors.<room> is the
// Orleans stream ("sensors", "<room>")).
var store = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "stream-consumer-sample");
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering(siloPort: 11311, gatewayPort: 30300);
    silo.AddMemoryGrainStorage("PubSubStore");
    silo.AddPlatformStreams(configure: o => o.Namespaces.Add("sensors"));
});
// Port -1 picks a free NATS port; no monitoring port.
builder.AddNatsGateway(new NatsOptions { Port = -1, HttpPort = 0, JetStream = true, StoreDirectory = store });
await using var app = builder.Build();
await app.StartAsync();
int natsPort = app.Services.GetRequiredService<GatewayEndpoints>().NatsPort;
Console.WriteLine($"silo up: NATS on 127.0.0.1:{natsPort}, store {store}");

await using (var nats = new NatsConnection(new NatsOpts { Url = $"nats://127.0.0.1:{natsPort}" }))
{
    var js = nats.CreateJetStreamContext();
    await js.CreateOrUpdateStreamAsync(new StreamConfig("sensors", ["sensors.>"]));
    string[] rooms = ["kitchen", "attic"];
    for (int i = 0; i < 6; i++)
    {
        var reading = new Reading(rooms[i % 2], 18 + i * 0.5);
        var ack = await js.PublishAsync($"sensors.{reading.Room}", JsonSerializer.SerializeToUtf8Bytes(reading));
        Console.WriteLine($"NATS published {reading} as sequence {ack.Seq}");
    }
}

// Delivery is asynchronous (the provider polls the stream); give it a moment, then show what the grains saw.
await Task.Delay(TimeSpan.FromSeconds(2));
var grains = app.Services.GetRequiredService<IGrainFactory>();
foreach (var room in new[] { "kitchen", "attic" })
    Console.WriteLine($"RoomGrain {room}: {string.Join(", ", await grains.GetGrain<IRoomGrain>(room).Readings())}");
await app.StopAsync();

public sealed record Reading(string Room, double Celsius);

public interface IRoomGrain : IGrainWithStringKey
{
    Task<string[]> Readings();
}

/// <summary>One grain per room; Orleans activates it for the first message on sensors.&lt;room&gt;.</summary>
[ImplicitStreamSubscription("sensors")]
public sealed class RoomGrain : Grain, IRoomGrain, IStreamSubscriptionObserver
{
    private readonly List<string> _readings = [];

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<Reading>().ResumeAsync((reading, token) =>
        {
            // The token is the JetStream sequence of the message: resume or replay from it with EventSequenceTokenV2.
            _readings.Add($"#{token!.SequenceNumber} {reading.Celsius} °C");
            return Task.CompletedTask;
        });

    public Task<string[]> Readings() => Task.FromResult(_readings.ToArray());
}
