using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.Gateway;
using Platform.Grains.Client;
using Platform.Grains.Streaming;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Orleans;

/// <summary>
/// <c>siloBuilder.AddPlatform()</c> on a plain Orleans host (no web host, no platform executable) with the user's own
/// grain, driven by NATS.Net over TCP and by an external Orleans client, as a team co-hosting the platform would.
/// </summary>
public sealed class PlatformHostingTests
{
    [Fact]
    public async Task One_call_adds_the_streams_the_provider_and_the_nats_gateway_to_a_plain_orleans_silo()
    {
        var store = Path.Combine(Path.GetTempPath(), "cohosted-" + Guid.NewGuid().ToString("N"));
        int gatewayPort = SiloProcess.FreePort();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Everything from configuration, as appsettings.json would give it.
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Platform:StoreDirectory"] = store,
            ["Platform:Nats:Port"] = "-1",
            ["Platform:Streams:Namespaces:0"] = CoHostedRoomGrain.Readings,
            ["Platform:Streams:Namespaces:1"] = CoHostedRoomGrain.Alerts,
        });
        builder.UseOrleans(silo => silo.UseLocalhostClustering(SiloProcess.FreePort(), gatewayPort).AddPlatform());
        using var silo = builder.Build();
        await silo.StartAsync();
        try
        {
            await using var nats = new NatsConnection(new NatsOpts { Url = $"nats://127.0.0.1:{silo.Services.GetRequiredService<GatewayEndpoints>().NatsPort}" });
            var js = nats.CreateJetStreamContext();

            // NATS -> the user's grain: JetStream publishes on cohosted.kitchen reach the implicit subscriber.
            await js.CreateOrUpdateStreamAsync(new StreamConfig(CoHostedRoomGrain.Readings, [CoHostedRoomGrain.Readings + ".>"]));
            foreach (var reading in new[] { "20.5", "21.0" })
                (await js.PublishAsync($"{CoHostedRoomGrain.Readings}.kitchen", reading)).EnsureSuccess();

            using var client = await ConnectAsync(gatewayPort);
            var kitchen = client.Services.GetRequiredService<IClusterClient>().GetGrain<ICoHostedRoomGrain>("kitchen");
            await ProcessCluster.WaitUntilAsync(async () => (await kitchen.Readings()).Length == 2, TimeSpan.FromSeconds(20),
                async () => $"readings: {string.Join(", ", await kitchen.Readings())}");
            Assert.Equal(["#1 20.5", "#2 21.0"], await kitchen.Readings());

            // The user's grain -> NATS: an event it produces is a JetStream message a NATS consumer reads.
            await kitchen.Alert("too hot");
            var consumer = await js.CreateOrUpdateConsumerAsync(CoHostedRoomGrain.Alerts, new ConsumerConfig("reader"));
            var alert = await consumer.NextAsync<string>(opts: new NatsJSNextOpts { Expires = TimeSpan.FromSeconds(10) });
            Assert.Equal($"{CoHostedRoomGrain.Alerts}.kitchen", alert!.Subject);
            Assert.Equal("\"too hot\"", alert.Data);

            // The Orleans client sees the same streams through PlatformStreams.
            var info = await client.Services.GetRequiredService<PlatformStreams>().GetStreamInfoAsync(CoHostedRoomGrain.Readings);
            Assert.Equal(2ul, info.State.Messages);
        }
        finally
        {
            await silo.StopAsync();
            Directory.Delete(store, recursive: true);
        }
    }

    [Fact]
    public void Invalid_options_stop_the_host_from_being_built_with_every_problem_named()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Platform:SyncInterval"] = "soon" });
        var error = Assert.Throws<OptionsValidationException>(() => builder.UseOrleans(silo => silo.AddPlatform(o =>
        {
            o.StoreDirectory = " ";
            o.Nats.Port = 70000;
            o.Nats.HttpPort = 8222;
        })));
        Assert.Contains("StoreDirectory is required", error.Message);
        Assert.Contains("SyncInterval: invalid sync_interval \"soon\"", error.Message);
        Assert.Contains("Nats:Port: 70000 is not a port", error.Message);
        Assert.Contains("Nats:HttpPort: 8222", error.Message);
    }

    private static async Task<IHost> ConnectAsync(int gatewayPort)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleansClient(c => c.UseLocalhostClustering(gatewayPort).AddPlatformStreamsClient());
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }
}
