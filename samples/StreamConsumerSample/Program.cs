using System.Text.Json;
using Microsoft.Extensions.Configuration;
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

// Your own silo hosting your own grains next to the platform, on a plain Orleans host: one AddPlatform call adds the
// streams, the "platform" Orleans stream provider and the NATS gateway. A NATS client publishes temperature readings to
// the JetStream stream "sensors"; RoomGrain, implicitly subscribed to the Orleans stream namespace "sensors", receives
// each room's readings in order (subject sensors.<room> is the Orleans stream ("sensors", "<room>")).
// Usage: dotnet run --project samples/StreamConsumerSample -- [--Store <dir>] [--SiloPort 11311] [--GatewayPort 30300]
//        [--NatsPort -1] [--Serve true]   (also from appsettings.json or environment variables; -1 picks a free port)
// Any PlatformOptions can also come from configuration, e.g. --Platform:Nats:Host 0.0.0.0 or Platform__SyncInterval=always.
// With --Serve true it keeps running after the demo, so the external client samples can connect to --GatewayPort.
var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var config = builder.Configuration;
var store = config.GetValue("Store", Path.Combine(Path.GetTempPath(), "stream-consumer-sample"))!;
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering(siloPort: config.GetValue("SiloPort", 11311), gatewayPort: config.GetValue("GatewayPort", 30300));
    silo.AddPlatform(o =>
    {
        o.StoreDirectory = store;
        o.Nats.Port = config.GetValue("NatsPort", -1);
    }, streams => streams.Namespaces.Add("sensors"));
});
using var app = builder.Build();
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

// Delivery is asynchronous (the provider polls the stream): wait until the grains have seen the readings, then show them.
var grains = app.Services.GetRequiredService<IGrainFactory>();
for (int wait = 0; wait < 100 && (await grains.GetGrain<IRoomGrain>("kitchen").Readings()).Length + (await grains.GetGrain<IRoomGrain>("attic").Readings()).Length < 6; wait++)
    await Task.Delay(100);
foreach (var room in new[] { "kitchen", "attic" })
    Console.WriteLine($"RoomGrain {room}: {string.Join(", ", await grains.GetGrain<IRoomGrain>(room).Readings())}");
if (config.GetValue("Serve", false))
{
    Console.WriteLine($"serving: Orleans gateway 127.0.0.1:{config.GetValue("GatewayPort", 30300)}, NATS 127.0.0.1:{natsPort}; Ctrl+C stops");
    await app.WaitForShutdownAsync();
}
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
