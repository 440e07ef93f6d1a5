using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Gateway;
using Platform.Gateway.Protocol;
using Platform.Gateway.Security;
using Platform.Gateway.Server;
using Platform.Grains.Node;
using Platform.Grains.Storage;
using Platform.Grains.Streaming;
using Platform.Grains.Streams;
using Platform.Silo.Cluster;
using Platform.Silo.Configuration;

namespace Platform.Silo;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var started = Stopwatch.StartNew();
        var settings = new SiloSettings();
        try
        {
            // No reloading of appsettings.json: its watcher watches the working directory recursively (42,118 inotify
            // watches when started from /tmp) and wakes on every write to a store under it, ~10% of the CPU of a
            // Fetch(1) loop in a trace. The silo reads its settings once, as nats-server does without a reload signal.
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
            builder.Configuration.GetSection("Nats").Bind(settings.Nats);
            // Flags first to learn -c, then the file, then the flags again so they win, as with nats-server.
            switch (CommandLine.Apply(args, settings))
            {
                case CommandLine.Outcome.Help:
                    Console.WriteLine(CommandLine.Usage);
                    return 0;
                case CommandLine.Outcome.Version:
                    Console.WriteLine($"nats-server: v{ServerInfo.ProtocolVersion} (platform silo v{ServerInfo.ProductVersion})");
                    return 0;
                case CommandLine.Outcome.Signal:
                    return Signals.Send(settings.Signal!);
            }
            if (settings.ConfigFile is { } configFile)
            {
                ConfigApplier.Apply(ConfigFile.Load(configFile), settings);
                CommandLine.Apply(args, settings);
            }
            LoadTls(settings);
            ValidateCluster(settings);
            MemoryBudget.Apply(settings.Nats.MemoryBudget);
            // Before anything touches the store: a second process on it must stop here, not share the logs.
            using var store = NodeStore.Open(settings.Nats.StoreDirectory, settings.Nats.ServerName ?? "",
                settings.Cluster.Enabled ? settings.Cluster.Name : null);
            if (settings.Nats.JetStream)
                builder.Services.AddStreamStoreRecoveringNow(settings.Nats);
            return await RunAsync(builder, settings, store, started);
        }
        catch (ConfigException ex)
        {
            Console.Error.WriteLine($"nats-server: {ex.Message}");
            return 1;
        }
        catch (NodeStoreException ex)
        {
            Console.Error.WriteLine($"nats-server: {ex.Message}");
            return 1;
        }
    }

    /// <summary>
    /// Cluster mode needs a cluster name and a node name: the node name is how the cluster (and the stream catalog)
    /// knows whose store is whose, so two silos must never share one, and a silo without one could not be told apart.
    /// </summary>
    private static void ValidateCluster(SiloSettings settings)
    {
        var cluster = settings.Cluster;
        if (!cluster.Enabled)
        {
            if (cluster.Name is not null || cluster.Host is not null)
                throw new ConfigException("cluster settings need a membership store (cluster { membership: \"postgres://...\" } or --cluster_store)");
            return;
        }
        if (string.IsNullOrWhiteSpace(cluster.Name))
            throw new ConfigException("cluster mode needs a cluster name (cluster { name: ... } or --cluster_name)");
        if (string.IsNullOrWhiteSpace(settings.Nats.ServerName))
            throw new ConfigException("cluster mode needs a unique node name for each silo (-n, --name or server_name)");
        if (RedisStore.Is(cluster.Membership!))
            RedisStore.Options(cluster.Membership!);
        else
            MembershipStore.ConnectionString(cluster.Membership!);
    }

    /// <summary>
    /// The certificate files are read before the host starts, as nats-server does. A bad file in a tls block was already
    /// reported by the config applier with its file and line; here the flags may have replaced the files.
    /// </summary>
    private static void LoadTls(SiloSettings settings)
    {
        if (settings.Nats.Tls is not { } tls)
            return;
        try
        {
            tls.Load();
        }
        catch (TlsConfigurationException ex)
        {
            throw new ConfigException(ex.Message);
        }
    }

    private static async Task<int> RunAsync(WebApplicationBuilder builder, SiloSettings settings, NodeStore store, Stopwatch started)
    {
        using var fileLogger = ConfigureLogging(builder, settings);
        var siloPort = settings.SiloPort < 0 ? FreePort() : settings.SiloPort;
        var orleansGatewayPort = settings.OrleansGatewayPort < 0 ? FreePort() : settings.OrleansGatewayPort;
        var node = store.Identity;
        string clientUrl = "";
        if (settings.Cluster.Enabled)
        {
            // The other silos learn this client port through Orleans' silo metadata, which is fixed before Orleans
            // starts and so before Kestrel binds: a "any free port" request is resolved here.
            if (settings.Nats.Port < 0)
                settings.Nats.Port = FreePort();
            clientUrl = ClusterHosting.ClientUrl(settings, settings.Nats.Port);
            await EnsureMembershipSchemaAsync(settings.Cluster);
        }
        builder.Services.AddSingleton(node);
        builder.Services.AddHostedService(sp => new IdleMemoryTrim(sp.GetRequiredService<ILogger<IdleMemoryTrim>>(),
            settings.Nats.JetStream ? sp.GetRequiredService<StreamStore>().Memtables : null));
        builder.UseOrleans(silo =>
        {
            silo.UseClustering(settings, node, builder.Configuration, siloPort, orleansGatewayPort, clientUrl);
            if (settings.Nats.JetStream)
            {
                // Orleans streams over the platform's streams need the stream store, so they come with JetStream.
                // Explicit subscriptions outlive a restart as the streams do: in the store of a silo alone, in the
                // cluster's database when pub-sub grains may live on any silo.
                if (settings.Cluster.Enabled)
                    silo.AddClusterGrainStorage(settings, "PubSubStore");
                else
                    silo.AddFileGrainStorage("PubSubStore", Path.Combine(settings.Nats.StoreDirectory, "jetstream", "grain-state"));
                silo.AddPlatformStreams(PlatformStreamsHosting.DefaultName, o => o.Namespaces.AddRange(settings.OrleansStreamNamespaces));
            }
        });
        var endpoints = builder.AddNatsGateway(settings.Nats);

        await using var app = builder.Build();
        app.MapNatsMonitoring();
        await app.StartAsync();

        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.Silo");
        var host = settings.Nats.Host;
        log.LogInformation("Listening for client connections on {Host}:{Port}", host, endpoints.NatsPort);
        if (settings.Nats.Tls is not null)
            log.LogInformation("TLS required for client connections");
        if (endpoints.HttpPort != 0)
            log.LogInformation("Starting http monitor on {Host}:{Port}", host, endpoints.HttpPort);
        log.LogInformation("Orleans silo on port {SiloPort}, client gateway on port {GatewayPort}", siloPort, orleansGatewayPort);
        log.LogInformation("Node {Name}, data id {DataId}{Created}", node.Name.Length > 0 ? node.Name : "(unnamed)", node.DataId, store.Created ? " (new store)" : "");
        if (node.IsCluster)
            log.LogInformation("Cluster {Cluster}: membership in PostgreSQL, advertising {ClientUrl}", node.ClusterName, clientUrl);
        if (settings.Nats.JetStream)
            log.LogInformation("JetStream enabled, store directory {StoreDirectory}", Path.GetFullPath(settings.Nats.StoreDirectory));
        var portsFile = WritePortsFile(settings, endpoints);
        if (settings.Nats.MemoryBudget > 0)
            log.LogInformation("Memory budget {Budget} MB: the GC's heap limit is {Limit} MB{Memtables}", settings.Nats.MemoryBudget >> 20,
                GC.GetGCMemoryInfo().TotalAvailableMemoryBytes >> 20,
                settings.Nats.JetStream ? $", stream memtables share {app.Services.GetRequiredService<StreamStore>().Memtables.TotalBytes >> 20} MB" : "");
        log.LogInformation("Server is ready in {Elapsed} ms", started.ElapsedMilliseconds);

        int lameDuck = 0;
        using var lameDuckSignal = Signals.RegisterLameDuck(() =>
        {
            if (Interlocked.Exchange(ref lameDuck, 1) == 0)
                _ = RunLameDuckAsync(app, log);
        });
        await app.WaitForShutdownAsync();
        if (portsFile is not null)
            File.Delete(portsFile);
        // A service that stops the silo for a reason (a node name already in the cluster) sets the exit code.
        return Environment.ExitCode;
    }

    /// <summary>The membership and grain state tables, created if absent; a store that cannot be reached stops the start, bounded.</summary>
    private static async Task EnsureMembershipSchemaAsync(ClusterSettings cluster)
    {
        // Redis needs no schema: its providers write their own keys.
        if (RedisStore.Is(cluster.Membership!))
            return;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            var connectionString = MembershipStore.ConnectionString(cluster.Membership!);
            await MembershipStore.EnsureSchemaAsync(connectionString, timeout.Token);
            await using var database = Npgsql.NpgsqlDataSource.Create(connectionString);
            await PostgresGrainStorage.EnsureSchemaAsync(database, timeout.Token);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or OperationCanceledException or TimeoutException)
        {
            throw new ConfigException($"cluster membership store unavailable: {ex.Message}");
        }
    }

    /// <summary>SIGUSR2: lame duck mode, then the host's normal shutdown (the same path as SIGTERM).</summary>
    private static async Task RunLameDuckAsync(WebApplication app, ILogger log)
    {
        var server = app.Services.GetRequiredService<NatsServer>();
        try
        {
            await server.RunLameDuckAsync(app.Lifetime.ApplicationStopping);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            log.LogError(ex, "Lame duck mode failed; shutting down");
        }
        log.LogInformation("Initiating Shutdown...");
        app.Lifetime.StopApplication();
    }

    /// <summary>Console logging in nats-server's spirit, or with -l/log_file the same lines to that file instead.</summary>
    private static FileLoggerProvider? ConfigureLogging(WebApplicationBuilder builder, SiloSettings settings)
    {
        var logging = builder.Logging;
        logging.ClearProviders();
        FileLoggerProvider? file = null;
        if (settings.LogFile is { } path)
        {
            file = new FileLoggerProvider(path);
            logging.AddProvider(file);
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy/MM/dd HH:mm:ss.ffffff ";
            });
        }
        var level = settings.Trace ? LogLevel.Trace : settings.Debug ? LogLevel.Debug : LogLevel.Information;
        logging.SetMinimumLevel(level);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Orleans", settings.Trace ? LogLevel.Information : LogLevel.Warning);
        // Its only warnings at start are advice about server GC, which measured no gain on small machines.
        logging.AddFilter("Orleans.Runtime.Silo", LogLevel.Error);
        logging.AddFilter("Polly", LogLevel.Warning);
        // Orleans 10 warns at every start that a "participant check" has not completed for as long as the machine
        // has been up: a measurement artifact, not a stall.
        logging.AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
        return file;
    }

    /// <summary>nats-server's ports file: <c>&lt;exe&gt;_&lt;pid&gt;.ports</c> with the bound URLs, removed on clean exit.</summary>
    private static string? WritePortsFile(SiloSettings settings, GatewayEndpoints endpoints)
    {
        if (settings.PortsFileDirectory is not { } dir)
            return null;
        var exe = Path.GetFileNameWithoutExtension(Environment.GetCommandLineArgs()[0]);
        var path = Path.Combine(dir, $"{exe}_{Environment.ProcessId}.ports");
        var host = settings.Nats.Host is "0.0.0.0" or "::" ? "127.0.0.1" : settings.Nats.Host;
        var ports = new Dictionary<string, string[]>
        {
            ["nats"] = [$"nats://{host}:{endpoints.NatsPort}"],
        };
        if (endpoints.HttpPort != 0)
            ports["monitoring"] = [$"http://{host}:{endpoints.HttpPort}"];
        Directory.CreateDirectory(dir);
        // Written aside and renamed, so a reader that sees the file never sees it half written.
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(ports));
        File.Move(path + ".tmp", path, overwrite: true);
        return path;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
