using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using Orleans.Hosting;
using Platform.Gateway.Cluster;
using Platform.Gateway.JetStream;
using Platform.Gateway.Monitoring;
using Platform.Grains.Cluster;
using Platform.Grains.Streams;
using Platform.Gateway.Server;

namespace Platform.Gateway;

/// <summary>Puts the NATS listener and the HTTP monitoring port on the host's Kestrel.</summary>
public static class GatewayHosting
{
    public static GatewayEndpoints AddNatsGateway(this WebApplicationBuilder builder, NatsOptions options)
    {
        var endpoints = builder.Services.AddNatsGatewayServices(options);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var address = ResolveAddress(options.Host);
            kestrel.Listen(address, options.Port < 0 ? 0 : options.Port, listen =>
            {
                listen.UseConnectionHandler<NatsConnectionHandler>();
                endpoints.Nats = listen;
            });
            if (options.HttpPort != 0)
            {
                kestrel.Listen(address, options.HttpPort < 0 ? 0 : options.HttpPort, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    endpoints.Http = listen;
                });
            }
        });
        return endpoints;
    }

    /// <summary>
    /// Everything of the gateway but its listeners, for a host that binds them itself (tests host one gateway in each
    /// silo of an in-process cluster). The silo's Orleans services must be in the same collection.
    /// </summary>
    public static GatewayEndpoints AddNatsGatewayServices(this IServiceCollection services, NatsOptions options)
    {
        var endpoints = new GatewayEndpoints(options);
        services.AddSingleton(options);
        services.AddSingleton(endpoints);
        services.AddSingleton(sp =>
        {
            var server = ActivatorUtilities.CreateInstance<NatsServer>(sp);
            server.SetListenPortProvider(() => endpoints.NatsPort);
            return server;
        });
        services.AddHostedService<Housekeeping>();
        services.AddSingleton<GatewayMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(GatewayMetrics.MeterName, "Microsoft.Orleans")
            .AddPrometheusExporter());
        // Core NATS across the silos of a cluster; with one silo the routes stay empty.
        services.AddSingleton<ClusterRoutes>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterRoutes>());
        if (options.JetStream)
        {
            services.AddPlatformStreaming(o => o.FromNats(options));
            services.AddSingleton<ApiResponder>();
            services.AddSingleton<Advisories>();
            services.AddSingleton<IStreamAdvisories>(sp => sp.GetRequiredService<Advisories>());
            services.AddSingleton<ConsumerApi>();
            services.AddSingleton<StreamCapture>();
            services.AddSingleton<JetStreamApi>();
            services.AddSingleton<RepublishCapture>();
            services.AddSingleton<IStreamRepublisher, StreamRepublisher>();
            services.AddHostedService<JetStreamStartup>();
        }
        // The route grain's placement; the streaming services register the same director when JetStream is on.
        if (!services.Any(s => s.IsKeyedService && Equals(s.ServiceKey, typeof(SiloPinnedPlacement))))
            services.AddPlacementDirector<SiloPinnedPlacement, SiloPinnedPlacementDirector>();
        return endpoints;
    }

    /// <summary>
    /// Listens for other silos' routes (core NATS across the cluster, <see cref="RouteTransport"/>) on
    /// <paramref name="address"/> (every address with <paramref name="anyAddress"/>) and <paramref name="port"/>, 0 for
    /// a free one. Returns the silo metadata entry that tells the other silos where, for the host's one
    /// <c>UseSiloMetadata</c> call.
    /// </summary>
    internal static KeyValuePair<string, string> AddNatsRoutes(this IServiceCollection services, IPAddress address, int port = 0, bool anyAddress = false)
    {
        var transport = RouteTransport.Listen(address, port, anyAddress);
        services.AddSingleton(transport);
        return new(RouteTransport.MetadataKey, transport.Endpoint);
    }

    public static void MapNatsMonitoring(this WebApplication app)
    {
        MonitoringEndpoints.Map(app);
        app.Services.GetRequiredService<GatewayMetrics>();
        app.MapPrometheusScrapingEndpoint("/metrics");
    }

    /// <summary>
    /// Creates the stream store now and starts reopening the logs a crash left open, for a host that already holds the
    /// store's lock (the silo executable, before it builds its host): their recovery then starts about a second before
    /// Orleans' first lifecycle stage would start it, which is most of what the first publish after a kill -9 waited
    /// for once the silo accepted connections (perf/recovery/RESULTS.md). The gateway and the grains use this store.
    /// </summary>
    public static void AddStreamStoreRecoveringNow(this IServiceCollection services, NatsOptions options)
    {
        var streaming = new StreamingOptions();
        streaming.FromNats(options);
        var store = StreamingHosting.CreateStore(streaming);
        store.Preopener.Start(store);
        services.AddSingleton(store);
    }

    /// <summary>The streaming domain's settings from the gateway's: store_dir, sync_interval, max_memory_store, max_file_store, max_log_files, memory_budget.</summary>
    internal static void FromNats(this StreamingOptions streaming, NatsOptions options)
    {
        streaming.StoreDirectory = options.StoreDirectory;
        streaming.Sync = ParseSync(options.SyncInterval);
        streaming.Limits = new StoreLimits(options.MaxMemoryStore, options.MaxFileStore);
        streaming.MaxLogFiles = options.MaxLogFiles;
        streaming.MemoryBudget = options.MemoryBudget;
    }

    internal static SyncSetting ParseSync(string text)
    {
        if (string.Equals(text, "always", StringComparison.OrdinalIgnoreCase))
            return new SyncSetting(true, SyncSetting.Default.Interval);
        return Durations.TryParse(text, out var interval) && interval > TimeSpan.Zero
            ? new SyncSetting(false, interval)
            : throw new ArgumentException($"invalid sync_interval \"{text}\": expected a duration such as 2m or always");
    }

    internal static IPAddress ResolveAddress(string host)
    {
        if (IPAddress.TryParse(host, out var address))
            return address;
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            return IPAddress.Loopback;
        return Dns.GetHostAddresses(host)[0];
    }
}

/// <summary>The bound listeners; ports are real once the host has started (a configured -1 means any free port).</summary>
public sealed class GatewayEndpoints(NatsOptions options)
{
    internal ListenOptions? Nats { get; set; }
    internal ListenOptions? Http { get; set; }

    public NatsOptions Options { get; } = options;
    public int NatsPort => Nats?.IPEndPoint?.Port ?? Options.Port;
    public int HttpPort => Http?.IPEndPoint?.Port ?? 0;
}
