using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Streams;
using Orleans.Streams.Core;
using Platform.Grains.Streaming;

// Your own silo with your own grains, joining a platform cluster: silos started with
// `--cluster_name <name> --cluster_store postgres://...` (README, "Cluster"). It hosts no streams and needs no store:
// the platform's silos keep the streams and read the provider's queues, and deliver to grains here. A NATS client
// publishes an order on orders.<id>; OrderGrain, implicitly subscribed to the Orleans namespace "orders", receives it
// on this silo and produces a receipt on the Orleans stream ("receipts", <id>), i.e. subject receipts.<id>, which NATS
// clients read from the platform stream "receipts". The platform silos must serve both namespaces:
// `--orleans_streams orders,receipts`.
// Usage: dotnet run --project samples/ExternalSiloSample -- --ClusterName <name>
//        --ClusterStore "Host=...;Username=...;Password=...;Database=..." [--Name app1] [--Address 127.0.0.1]
//        [--SiloPort 11411] [--GatewayPort 30400]   (also from appsettings.json or environment variables)
var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var config = builder.Configuration;
string cluster = config["ClusterName"] ?? throw new ArgumentException("--ClusterName is required: the platform cluster's name (its --cluster_name)");
string store = config["ClusterStore"] ?? throw new ArgumentException("--ClusterStore is required: an Npgsql connection string to the cluster's membership database");
string name = config.GetValue("Name", "app1")!;
builder.UseOrleans(silo =>
{
    // The platform uses its cluster name as both Orleans ids.
    silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (cluster, cluster));
    // Node names are unique in the cluster: pick one no platform silo uses.
    silo.Configure<SiloOptions>(o => o.SiloName = name);
    silo.ConfigureEndpoints(IPAddress.Parse(config.GetValue("Address", "127.0.0.1")!), config.GetValue("SiloPort", 11411), config.GetValue("GatewayPort", 30400));
    silo.UseAdoNetClustering(o =>
    {
        o.Invariant = "Npgsql";
        o.ConnectionString = store;
    });
    // Failure detection as the platform's silos have it (e.g. Orleans__Membership__ProbeTimeout=00:00:02).
    silo.Services.Configure<ClusterMembershipOptions>(config.GetSection("Orleans:Membership"));
    // PlatformStreams in DI and the "platform" provider; this silo reads no queue and keeps no subscriptions.
    silo.AddPlatformStreamsClient();
});
using var host = builder.Build();
await host.StartAsync();
Console.WriteLine($"silo {name} joined cluster {cluster}; Ctrl+C stops");
await host.WaitForShutdownAsync();

public sealed record Order(string Item, int Quantity);

public interface IOrderGrain : IGrainWithStringKey
{
}

/// <summary>One grain per order id; Orleans activates it (on this silo, the only one with its class) for the first message.</summary>
[ImplicitStreamSubscription("orders")]
public sealed class OrderGrain(ILocalSiloDetails silo) : Grain, IOrderGrain, IStreamSubscriptionObserver
{
    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<Order>().ResumeAsync(async (order, token) =>
        {
            // The token is the JetStream sequence of the order in the stream "orders".
            var receipt = $"order {this.GetPrimaryKeyString()} (#{token!.SequenceNumber}): {order.Quantity} x {order.Item}, handled on {silo.Name}";
            await this.GetStreamProvider(PlatformStreamsClientHosting.DefaultName)
                .GetStream<string>(StreamId.Create("receipts", this.GetPrimaryKeyString())).OnNextAsync(receipt);
        });
}
