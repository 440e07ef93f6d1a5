using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Platform.Grains.Client;
using Platform.Grains.Streaming;
using PlatformStreamConfig = Platform.Grains.Streams.PlatformStreamConfig;

// An external Orleans client of a running silo (e.g. `dotnet run --project src/Silo -- -js --orleans_streams sensors`):
// it manages a stream, publishes and consumes through PlatformStreams, and produces an Orleans stream event through the
// "platform" provider, whose namespaces it learns from the cluster.
// Usage: dotnet run --project samples/ExternalClientSample -- [--GatewayPort 30000] [--Namespace sensors]
var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
int gatewayPort = builder.Configuration.GetValue("GatewayPort", 30000);
string ns = builder.Configuration.GetValue("Namespace", "sensors")!;
builder.UseOrleansClient(client => client
    .UseLocalhostClustering(gatewayPort)
    .AddPlatformStreamsClient());
using var host = builder.Build();
await host.StartAsync();
var streams = host.Services.GetRequiredService<PlatformStreams>();

// Streams and messages, as a NATS client would see them.
const string stream = "ORDERS";
await streams.DeleteStreamAsync(stream);
await streams.CreateStreamAsync(new PlatformStreamConfig { Name = stream, Subjects = ["orders.>"] });
var acks = await streams.PublishAsync(stream, [.. Enumerable.Range(1, 5).Select(i =>
    new OutgoingMessage($"orders.{(i % 2 == 0 ? "eu" : "us")}", Encoding.UTF8.GetBytes($"order {i}"), new Dictionary<string, string> { ["Order-Id"] = $"{i}" }))]);
Console.WriteLine($"published {acks.Length} orders, sequences {acks[0].Sequence}..{acks[^1].Sequence}");
var info = await streams.GetStreamInfoAsync(stream);
Console.WriteLine($"stream {stream}: {info.State.Messages} messages, last {info.State.LastSequence}");
Console.WriteLine($"last EU order: {Encoding.UTF8.GetString((await streams.GetLastMessageAsync(stream, "orders.eu")).Payload.Span)}");

// A durable consumer: each batch is acked when the loop asks for the next one.
int consumed = 0;
await foreach (var message in streams.ConsumeAsync(stream, "billing"))
{
    Console.WriteLine($"billing got #{message.StreamSequence} {message.Subject} {Encoding.UTF8.GetString(message.Payload.Span)} (Order-Id {message.Headers["Order-Id"]})");
    if (++consumed == acks.Length)
        break;
}
Console.WriteLine($"consumers: {string.Join(", ", await streams.ListConsumersAsync(stream))}");

// An Orleans stream event: stored as JSON on <namespace>.<key>, readable by NATS clients and Orleans subscribers.
var provider = host.Services.GetRequiredService<IClusterClient>().GetStreamProvider(PlatformStreamsClientHosting.DefaultName);
await provider.GetStream<string>(StreamId.Create(ns, "lobby")).OnNextAsync("21.5 C");
var stored = await streams.GetLastMessageAsync(ns, $"{ns}.lobby");
Console.WriteLine($"provider event stored in stream {ns} as #{stored.Sequence}: {Encoding.UTF8.GetString(stored.Payload.Span)}");
await host.StopAsync();
