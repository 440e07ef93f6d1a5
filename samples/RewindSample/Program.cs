using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Streams;
using Platform.Grains.Streaming;

// Replay with the "platform" provider: events are kept in the stream's log, so a subscription can start from any
// retained sequence, not only from what a cache still holds. Needs a silo serving the namespace, e.g.
// `dotnet run --project src/Silo -- -js --orleans_streams sensors`.
// Usage: dotnet run --project samples/RewindSample -- [--GatewayPort 30000] [--Namespace sensors]
var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
int gatewayPort = builder.Configuration.GetValue("GatewayPort", 30000);
string ns = builder.Configuration.GetValue("Namespace", "sensors")!;
builder.UseOrleansClient(client => client.UseLocalhostClustering(gatewayPort).AddPlatformStreams());
using var host = builder.Build();
await host.StartAsync();

var key = $"room-{Guid.NewGuid():N}"[..13];
var stream = host.Services.GetRequiredService<IClusterClient>().GetStreamProvider(PlatformStreamsClientHosting.DefaultName)
    .GetStream<Reading>(StreamId.Create(ns, key));

// Live: every reading as it is produced, with its stream sequence as the token.
var live = new ConcurrentQueue<(long Sequence, Reading Reading)>();
var liveHandle = await stream.SubscribeAsync((reading, token) =>
{
    live.Enqueue((token!.SequenceNumber, reading));
    return Task.CompletedTask;
});
for (int i = 0; i < 5; i++)
    await stream.OnNextAsync(new Reading(key, 20 + i));
await WaitAsync(() => live.Count >= 5);
foreach (var (sequence, reading) in live)
    Console.WriteLine($"live   #{sequence}: {reading.Celsius} °C");

// Replay: a new subscription from the third reading's sequence gets it and everything after, from the log.
long from = live.ElementAt(2).Sequence;
var replayed = new ConcurrentQueue<(long Sequence, Reading Reading)>();
var replayHandle = await stream.SubscribeAsync((reading, token) =>
{
    replayed.Enqueue((token!.SequenceNumber, reading));
    return Task.CompletedTask;
}, new EventSequenceTokenV2(from));
await WaitAsync(() => replayed.Count >= 3);
foreach (var (sequence, reading) in replayed)
    Console.WriteLine($"replay #{sequence}: {reading.Celsius} °C");

await liveHandle.UnsubscribeAsync();
await replayHandle.UnsubscribeAsync();
await host.StopAsync();
return replayed.Count == 3 && replayed.First().Sequence == from ? 0 : 1;

static async Task WaitAsync(Func<bool> done)
{
    var deadline = DateTime.UtcNow.AddSeconds(20);
    while (!done() && DateTime.UtcNow < deadline)
        await Task.Delay(50);
}

public sealed record Reading(string Room, double Celsius);
