using System.Diagnostics;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Orleans;

/// <summary>
/// A user's own silo (samples/ExternalSiloSample, the client package only) joins a platform cluster in PostgreSQL as a
/// real process: NATS clients of the platform silo reach its grain through the provider and read what the grain
/// produces, and the platform keeps every stream on its own silos.
/// </summary>
public sealed class ExternalSiloTests(PostgresFixture fixture) : IClassFixture<PostgresFixture>
{
    [SkippableFact]
    public async Task A_users_silo_joins_the_cluster_and_its_grain_exchanges_messages_with_nats_clients_of_the_platform()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        var postgres = fixture.Postgres!;
        const string cluster = "external";
        await using var platform = await SiloProcess.StartAsync(jetStream: true, dataDirectory: null, port: 0, ProcessCluster.FastFailureDetection,
            "-n", "n1", "--cluster_name", cluster, "--cluster_store", postgres.Url, "--orleans_streams", "orders,receipts");
        using var external = StartExternalSilo(cluster, postgres.ConnectionString, "app1");
        await ProcessCluster.WaitUntilAsync(async () => (await ProcessCluster.ActiveAsync(postgres, cluster)).SequenceEqual(["app1", "n1"]),
            TimeSpan.FromSeconds(60), async () => $"active: {string.Join(", ", await ProcessCluster.ActiveAsync(postgres, cluster))}; external silo:\n{external.Output}");
        await WaitForOutputAsync(external, "silo app1 joined cluster external");

        await using var nats = new NatsConnection(new NatsOpts { Url = platform.Url });
        var js = nats.CreateJetStreamContext();
        // A stream created now, with two members, is homed on the platform silo: the user's silo has no store.
        var audit = await js.CreateStreamAsync(new StreamConfig("AUDIT", ["audit.>"]));
        Assert.Equal("n1", audit.Info.Cluster?.Leader);
        (await js.PublishAsync("audit.x", "kept")).EnsureSuccess();

        // NATS -> the user's grain on the other silo -> NATS.
        await js.CreateOrUpdateStreamAsync(new StreamConfig("orders", ["orders.>"]));
        await js.CreateOrUpdateStreamAsync(new StreamConfig("receipts", ["receipts.>"]));
        (await js.PublishAsync("orders.42", Encoding.UTF8.GetBytes("{\"Item\":\"coffee\",\"Quantity\":2}"))).EnsureSuccess();
        var consumer = await js.CreateOrUpdateConsumerAsync("receipts", new ConsumerConfig("reader"));
        INatsJSMsg<string>? receipt = null;
        var deadline = Stopwatch.StartNew();
        while (receipt is null && deadline.Elapsed < TimeSpan.FromSeconds(30))
            receipt = await consumer.NextAsync<string>(opts: new NatsJSNextOpts { Expires = TimeSpan.FromSeconds(2) });
        Assert.True(receipt is not null, $"no receipt in 30 s; platform:\n{platform.Output}\nexternal silo:\n{external.Output}");
        Assert.Equal("receipts.42", receipt.Subject);
        Assert.Equal("\"order 42 (#1): 2 x coffee, handled on app1\"", receipt.Data);
    }

    private static async Task WaitForOutputAsync(ExternalSilo silo, string text)
        => await ProcessCluster.WaitUntilAsync(() => Task.FromResult(silo.Output.Contains(text, StringComparison.Ordinal)), TimeSpan.FromSeconds(30),
            () => Task.FromResult($"the external silo did not print \"{text}\":\n{silo.Output}"));

    private static ExternalSilo StartExternalSilo(string cluster, string connectionString, string name)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in ProcessCluster.FastFailureDetection)
            start.Environment[key] = value;
        foreach (var arg in new[] { SampleTests.SampleDll("ExternalSiloSample"), "--ClusterName", cluster, "--ClusterStore", connectionString, "--Name", name,
            "--SiloPort", SiloProcess.FreePort().ToString(), "--GatewayPort", SiloProcess.FreePort().ToString() })
            start.ArgumentList.Add(arg);
        return new ExternalSilo(Process.Start(start)!);
    }

    /// <summary>The sample's process with its output; killed on dispose.</summary>
    private sealed class ExternalSilo : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        public ExternalSilo(Process process)
        {
            _process = process;
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Output { get { lock (_output) return _output.ToString(); } }

        private void Append(string? line)
        {
            if (line is not null)
                lock (_output) _output.AppendLine(line);
        }

        public void Dispose()
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
            _process.Dispose();
        }
    }
}
