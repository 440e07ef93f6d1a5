using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Runtime.Placement;
using Platform.Grains.Cluster;
using Platform.Grains.Node;
using Platform.Grains.Replication;

namespace Platform.Grains.Streams;

/// <summary>Where a silo keeps its streams and how it syncs them; validated when the silo starts.</summary>
public sealed class StreamingOptions
{
    /// <summary>The store directory (nats-server's store_dir); streams live under jetstream/streams in it.</summary>
    public string StoreDirectory { get; set; } = "./data";

    public SyncSetting Sync { get; set; } = SyncSetting.Default;

    public StoreLimits Limits { get; set; } = StoreLimits.Unlimited;

    /// <summary>File descriptors the stream logs may hold open together (jetstream max_log_files); 0 derives it from
    /// the process's descriptor limit.</summary>
    public int MaxLogFiles { get; set; }

    /// <summary>The silo's memory_budget in bytes: a quarter of it bounds the logs' memtables; 0 takes a quarter of the
    /// memory the process may use instead.</summary>
    public long MemoryBudget { get; set; }
}

/// <summary>
/// Registers the streaming domain on a silo: the stream store, the watermark signals and the catalog's change feed.
/// Everything that hosts stream grains needs it (the NATS gateway, the Orleans stream provider, or neither); calling it
/// twice registers once.
/// </summary>
public static class StreamingHosting
{
    public static ISiloBuilder AddPlatformStreaming(this ISiloBuilder silo, Action<StreamingOptions>? configure = null)
    {
        silo.Services.AddPlatformStreaming(configure);
        return silo;
    }

    /// <summary>The same on a host's services, for hosts that add the silo and the gateway side by side.</summary>
    public static IServiceCollection AddPlatformStreaming(this IServiceCollection services, Action<StreamingOptions>? configure = null)
    {
        services.AddOptions<StreamingOptions>()
            .Configure(o => configure?.Invoke(o))
            .Validate(o => !string.IsNullOrWhiteSpace(o.StoreDirectory), "StreamingOptions.StoreDirectory is required")
            .Validate(o => o.Sync.Always || o.Sync.Interval > TimeSpan.Zero, "StreamingOptions.Sync needs a positive interval or Always")
            .Validate(o => o.MaxLogFiles >= 0, "StreamingOptions.MaxLogFiles cannot be negative")
            .Validate(o => o.MemoryBudget >= 0, "StreamingOptions.MemoryBudget cannot be negative")
            .ValidateOnStart();
        services.TryAddSingleton(sp => CreateStore(sp.GetRequiredService<IOptions<StreamingOptions>>().Value));
        services.TryAddSingleton<StreamSignals>();
        services.TryAddSingleton<Consumers.PushConsumers>();
        services.TryAddSingleton<Consumers.PinEvents>();
        services.TryAddSingleton<CatalogChanges>();
        services.TryAddSingleton<CatalogView>();
        services.TryAddSingleton<LocalReplicas>();
        MisplacedCallRetry.AddTo(services);
        // The silo executable registers the identity its store holds; a host that does not is one silo alone.
        services.TryAddSingleton(sp => new NodeIdentity(sp.GetRequiredService<ILocalSiloDetails>().Name, "",
            sp.GetRequiredService<IOptions<StreamingOptions>>().Value.StoreDirectory, clusterName: null));
        if (!services.Any(s => s.ServiceType == typeof(StreamHomeDirector)))
        {
            services.AddPlacementDirector<StreamHomePlacement, StreamHomeDirector>();
            services.AddPlacementDirector<SiloPinnedPlacement, SiloPinnedPlacementDirector>();
            services.AddPlacementDirector<NodePinnedPlacement, NodePinnedPlacementDirector>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, ReplicationFailover>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, CatalogViewSync>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, LogPreopenerLifecycle>();
        }
        return services;
    }

    internal static StreamStore CreateStore(StreamingOptions options)
        => new(options.StoreDirectory, options.Sync, options.Limits, options.MaxLogFiles, options.MemoryBudget);
}
