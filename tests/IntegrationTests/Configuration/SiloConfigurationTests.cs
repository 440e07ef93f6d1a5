using System.Diagnostics;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;
using Platform.Silo.Configuration;

namespace Platform.IntegrationTests.Configuration;

/// <summary>How the silo takes its settings: nats-server format files, flags, environment, and what it reports.</summary>
public sealed class SiloConfigurationTests
{
    private static SiloSettings Apply(string text)
    {
        var settings = new SiloSettings();
        ConfigApplier.Apply(ConfigFile.Parse(text, "silo.conf"), settings);
        return settings;
    }

    [Fact]
    public void A_nats_server_config_file_sets_every_supported_key()
    {
        var settings = Apply("""
            # comment
            listen: 127.0.0.2:4333
            http_port = 8333
            server_name: "edge-1"   // trailing comment
            max_payload: 2MB
            max_pending: 32MiB
            max_connections 100
            max_control_line: 8192
            ping_interval: "30s"
            ping_max: 3
            write_deadline: "2s"
            authorization { token: "s3cret", timeout: 1 }
            memory_budget: 256MB
            jetstream { store_dir: "/var/lib/silo", sync_interval: always, max_memory_store: 1M, max_file_store: 1GB, max_log_files: 600 }
            """);
        var nats = settings.Nats;
        Assert.Equal("127.0.0.2", nats.Host);
        Assert.Equal(4333, nats.Port);
        Assert.Equal(8333, nats.HttpPort);
        Assert.Equal("edge-1", nats.ServerName);
        Assert.Equal(2 * 1024 * 1024, nats.MaxPayload);
        Assert.Equal(32L * 1024 * 1024, nats.MaxPending);
        Assert.Equal(100, nats.MaxConnections);
        Assert.Equal(8192, nats.MaxControlLine);
        Assert.Equal(TimeSpan.FromSeconds(30), nats.PingInterval);
        Assert.Equal(3, nats.MaxPingsOutstanding);
        Assert.Equal(TimeSpan.FromSeconds(2), nats.WriteDeadline);
        Assert.Equal("s3cret", nats.AuthToken);
        Assert.Equal(TimeSpan.FromSeconds(1), nats.AuthTimeout);
        Assert.True(nats.JetStream);
        Assert.Equal("/var/lib/silo", nats.StoreDirectory);
        Assert.Equal("always", nats.SyncInterval);
        Assert.Equal(1_000_000, nats.MaxMemoryStore);
        Assert.Equal(1024L * 1024 * 1024, nats.MaxFileStore);
        Assert.Equal(600, nats.MaxLogFiles);
        Assert.Equal(256L << 20, nats.MemoryBudget);
    }

    [Theory]
    [InlineData("bogus_key: 1", "silo.conf:1", "bogus_key")]
    [InlineData("port: 4222\nmax_payload: \"lots\"", "silo.conf:2", "max_payload")]
    [InlineData("jetstream {\n  store_dir: /x\n  sync_interval: sometimes\n}", "silo.conf:3", "sync_interval")]
    [InlineData("jetstream {\n  max_file_store: \"2GB\"\n}", "silo.conf:2", "max_file_store")]
    [InlineData("jetstream {\n  max_log_files: -1\n}", "silo.conf:2", "max_log_files")]
    [InlineData("ping_interval: \"soon\"", "silo.conf:1", "ping_interval")]
    [InlineData("port: 4222\nmemory_budget: 64MB", "silo.conf:2", "memory_budget")]
    [InlineData("memory_budget: \"lots\"", "silo.conf:1", "memory_budget")]
    [InlineData("authorization {\n  tokn: x\n}", "silo.conf:2", "authorization.tokn")]
    [InlineData("listen: \"nowhere\"", "silo.conf:1", "listen")]
    [InlineData("server_name: \"unterminated\n", "silo.conf:1", "unterminated")]
    public void Bad_settings_name_the_file_line_and_key(string text, string where, string what)
    {
        var error = Assert.Throws<ConfigException>(() => Apply(text));
        Assert.Contains(where, error.Message);
        Assert.Contains(what, error.Message);
    }

    [Fact]
    public void Flags_parse_like_nats_server_and_bad_ones_are_refused()
    {
        var settings = new SiloSettings();
        Assert.Equal(CommandLine.Outcome.Run, CommandLine.Apply(["-a", "0.0.0.0", "-p", "-1", "-m=0", "-js", "-sd", "/d", "-n", "x", "--user", "u", "--pass", "p"], settings));
        Assert.Equal(("0.0.0.0", -1, 0, true, "/d", "x", "u", "p"),
            (settings.Nats.Host, settings.Nats.Port, settings.Nats.HttpPort, settings.Nats.JetStream, settings.Nats.StoreDirectory, settings.Nats.ServerName, settings.Nats.Username, settings.Nats.Password));
        Assert.Equal(CommandLine.Outcome.Version, CommandLine.Apply(["-v"], new SiloSettings()));
        Assert.Equal(CommandLine.Outcome.Help, CommandLine.Apply(["--help"], new SiloSettings()));
        Assert.Throws<ConfigException>(() => CommandLine.Apply(["--no-such-flag"], new SiloSettings()));
        Assert.Throws<ConfigException>(() => CommandLine.Apply(["-p", "abc"], new SiloSettings()));

        var budget = new SiloSettings();
        CommandLine.Apply(["--memory_budget", "256MB"], budget);
        Assert.Equal(256L << 20, budget.Nats.MemoryBudget);
        CommandLine.Apply(["--memory_budget=0"], budget);
        Assert.Equal(0, budget.Nats.MemoryBudget);
        Assert.Contains("at least 128MB", Assert.Throws<ConfigException>(() => CommandLine.Apply(["--memory_budget", "100MB"], new SiloSettings())).Message);
        Assert.Throws<ConfigException>(() => CommandLine.Apply(["--memory_budget", "much"], new SiloSettings()));
    }

    [Fact]
    public async Task Environment_settings_reach_the_server_and_the_ports_file_names_it()
    {
        await using var silo = await SiloProcess.StartAsync(false, null, 0, new Dictionary<string, string> { ["Nats__ServerName"] = "from-environment" });
        var (info, _) = await RawClient.ExchangeAsync(silo.Port, "PING\r\n");
        using var json = JsonDocument.Parse(info[5..^3]);
        Assert.Equal("from-environment", json.RootElement.GetProperty("server_name").GetString());
    }

    [Fact]
    public async Task Version_and_a_bad_config_file_exit_without_serving()
    {
        var version = await SiloProcess.RunToExitAsync("-v");
        Assert.Equal(0, version.ExitCode);
        Assert.Contains("v2.10.0", version.Output);

        var config = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(config, "port: 4222\nnot_a_setting: true\n");
        var bad = await SiloProcess.RunToExitAsync("-c", config);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains($"{config}:2", bad.Output);
        Assert.Contains("not_a_setting", bad.Output);
    }

    /// <summary>
    /// Settings are read once: a reloading appsettings.json watched the working directory recursively, which cost
    /// start time and CPU on every write of a store under it (42,118 inotify watches when started from /tmp).
    /// </summary>
    [Fact]
    public async Task The_silo_watches_no_files()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: true);
        int inotify = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{silo.ProcessId}/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget == "anon_inode:inotify")
                    inotify++;
            }
            catch (IOException)
            {
                // Closed between the listing and the read.
            }
        }
        Assert.Equal(0, inotify);
    }
}
