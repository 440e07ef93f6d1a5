using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Orleans.Runtime;
using Orleans.Streams;
using Orleans.Streams.Core;
using Platform.Gateway;
using Platform.Grains.Client;
using Platform.Grains.Streaming;

// Stopwatch measurement of messages/s through three doors of one silo process (gateway + Orleans + provider):
// NATS.Net JetStream over TCP, the PlatformStreams client API (hosted client, in-process), and the Orleans stream
// provider (IAsyncStream produce, and end-to-end delivery to implicitly subscribed grains).
// Usage: dotnet run -c Release --project perf/OrleansThroughput [messages] [payload bytes]
// BATCH=<n> in the environment sets StreamPullingAgentOptions.BatchContainerBatchSize (records per delivery call; 1 by default).
int n = args.Length > 0 ? int.Parse(args[0]) : 100_000;
int size = args.Length > 1 ? int.Parse(args[1]) : 128;
var payload = new byte[size];
var store = Path.Combine(Path.GetTempPath(), "orleans-throughput-" + Guid.NewGuid().ToString("N"));

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Error);
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering(siloPort: 11511, gatewayPort: 30500);
    silo.AddMemoryGrainStorage("PubSubStore");
    silo.AddPlatformStreams(configure: o => o.Namespaces.Add("bench"),
        configureStreams: s => s.ConfigurePullingAgent(ob => ob.Configure(o => { o.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(10); o.BatchContainerBatchSize = int.Parse(Environment.GetEnvironmentVariable("BATCH") ?? "1"); })));
});
builder.AddNatsGateway(new NatsOptions { Port = -1, HttpPort = 0, JetStream = true, StoreDirectory = store });
await using var app = builder.Build();
await app.StartAsync();
int natsPort = app.Services.GetRequiredService<GatewayEndpoints>().NatsPort;
var grains = app.Services.GetRequiredService<IGrainFactory>();
var streams = new PlatformStreams(grains);
Console.WriteLine($"{n:N0} messages of {size} B; store {store}");

// 1. NATS.Net JetStream publish, 1000 acks in flight, and a pull consumer reading them back (ack none).
await using (var nats = new NatsConnection(new NatsOpts { Url = $"nats://127.0.0.1:{natsPort}" }))
{
    var js = nats.CreateJetStreamContext();
    await js.CreateStreamAsync(new StreamConfig("NATSBENCH", ["natsbench.>"]));
    var sw = Stopwatch.StartNew();
    for (int done = 0; done < n; done += 1000)
        await Task.WhenAll(Enumerable.Range(0, Math.Min(1000, n - done)).Select(_ => js.PublishAsync("natsbench.x", payload).AsTask()));
    Report("NATS.Net JetStream publish (1000 in flight)", n, sw);

    var consumer = await js.CreateOrUpdateConsumerAsync("NATSBENCH", new ConsumerConfig("reader") { AckPolicy = ConsumerConfigAckPolicy.None });
    sw.Restart();
    int read = 0;
    await foreach (var _ in consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = 1000 }))
        if (++read == n)
            break;
    Report("NATS.Net JetStream consume (pull, ack none)", n, sw);
}

// 2. PlatformStreams: batches of 100 framed into one grain call, 4 batches in flight; then ConsumeAsync (batched acks).
{
    await streams.CreateStreamAsync(new Platform.Grains.Streams.PlatformStreamConfig { Name = "APIBENCH", Subjects = ["apibench.>"] });
    var batch = Enumerable.Range(0, 100).Select(_ => new OutgoingMessage("apibench.x", payload)).ToArray();
    var sw = Stopwatch.StartNew();
    for (int done = 0; done < n; done += 400)
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => streams.PublishAsync("APIBENCH", batch)));
    Report("PlatformStreams.PublishAsync (100/batch, 4 in flight)", n, sw);

    sw.Restart();
    int read = 0;
    await foreach (var _ in streams.ConsumeAsync("APIBENCH", "reader", new ConsumeOptions { BatchSize = 1000 }))
        if (++read == n)
            break;
    Report("PlatformStreams.ConsumeAsync (1000/fetch, batched acks)", n, sw);
}

// 3. The Orleans stream provider: produce on 4 streams (100 events per OnNextBatchAsync), delivered to 4 implicitly
// subscribed grains; produce rate, and end-to-end until every event reached its grain.
{
    var provider = app.Services.GetRequiredService<IClusterClient>().GetStreamProvider("platform");
    var keys = Enumerable.Range(0, 4).Select(i => provider.GetStream<BenchEvent>(StreamId.Create("bench", $"k{i}"))).ToArray();
    var events = Enumerable.Range(0, 100).Select(i => new BenchEvent(i, "x")).ToList();
    int total = n / 400 * 400;
    var sw = Stopwatch.StartNew();
    for (int done = 0; done < total; done += 400)
        await Task.WhenAll(keys.Select(k => k.OnNextBatchAsync(events)));
    Report("IAsyncStream.OnNextBatchAsync (100/batch, 4 streams)", total, sw);
    while (BenchGrain.Received < total && sw.Elapsed < TimeSpan.FromMinutes(5))
        await Task.Delay(10);
    Report("provider end-to-end: produced and delivered to grains", (int)BenchGrain.Received, sw);
}

await app.StopAsync();
Directory.Delete(store, recursive: true);

static void Report(string what, int count, Stopwatch sw) =>
    Console.WriteLine($"| {what} | {count:N0} | {sw.Elapsed.TotalSeconds:F2} s | {count / sw.Elapsed.TotalSeconds:N0} |");

public sealed record BenchEvent(int N, string Text);

public interface IBenchGrain : IGrainWithStringKey
{
    Task<long> Count();
}

[ImplicitStreamSubscription("bench")]
public sealed class BenchGrain : Grain, IBenchGrain, IStreamSubscriptionObserver
{
    public static long Received;

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<BenchEvent>().ResumeAsync((_, _) =>
        {
            Interlocked.Increment(ref Received);
            return Task.CompletedTask;
        });

    public Task<long> Count() => Task.FromResult(Interlocked.Read(ref Received));
}
