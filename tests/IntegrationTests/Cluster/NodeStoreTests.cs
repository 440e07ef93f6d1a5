using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Cluster;

/// <summary>
/// The store directory belongs to one process and carries the node's identity, with or without a cluster: a second
/// silo on it is refused, and a wiped store is a new store (a new data id), never mistaken for the old one.
/// </summary>
public sealed class NodeStoreTests
{
    /// <summary>The data id written in the store's node.json, as a stream catalog would compare it.</summary>
    internal static string DataId(string storeDirectory)
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(storeDirectory, "node.json")));
        return json.RootElement.GetProperty("data_id").GetString()!;
    }

    [Fact]
    public async Task A_second_silo_on_the_same_store_is_refused_and_the_first_keeps_serving()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: true);
        var second = await SiloProcess.RunToExitAsync("-p", "-1", "-m", "0", "--silo_port", "-1", "--orleans_gateway_port", "-1",
            "-js", "-sd", silo.DataDirectory);
        Assert.Equal(1, second.ExitCode);
        Assert.Contains($"store directory {Path.GetFullPath(silo.DataDirectory)} is in use by another process", second.Output);

        await using var nats = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = silo.Url });
        await nats.PingAsync();
        Assert.False(silo.HasExited);
    }

    [Fact]
    public async Task A_restart_keeps_the_data_id_and_a_wiped_store_gets_a_new_one()
    {
        var silo = await SiloProcess.StartAsync(jetStream: true, extraArgs: ["-n", "node-a"]);
        var store = silo.DataDirectory;
        var first = DataId(store);
        Assert.Matches("^[0-9a-f]{32}$", first);
        Assert.Contains($"Node node-a, data id {first} (new store)", await silo.OutputContainingAsync($"data id {first}"));
        await silo.StopAsync();
        await silo.DisposeAsync();

        await using (var restarted = await SiloProcess.StartAsync(jetStream: true, dataDirectory: store, extraArgs: ["-n", "node-a"]))
        {
            Assert.Equal(first, DataId(store));
            Assert.Contains($"Node node-a, data id {first}", await restarted.OutputContainingAsync($"data id {first}"));
            Assert.DoesNotContain("(new store)", restarted.Output);
            await restarted.StopAsync();
        }

        Directory.Delete(store, recursive: true);
        await using var wiped = await SiloProcess.StartAsync(jetStream: true, dataDirectory: store, extraArgs: ["-n", "node-a"]);
        var third = DataId(store);
        Assert.NotEqual(first, third);
        Assert.Contains($"Node node-a, data id {third} (new store)", await wiped.OutputContainingAsync($"data id {third}"));
    }

    [Fact]
    public async Task Cluster_mode_needs_a_node_name_a_cluster_name_and_a_membership_store()
    {
        // Refused before any connection is tried: the store URL points nowhere.
        const string store = "postgres://platform@127.0.0.1:1/none";
        var noName = await SiloProcess.RunToExitAsync("-p", "-1", "-m", "0", "--cluster_name", "c", "--cluster_store", store);
        Assert.Equal(1, noName.ExitCode);
        Assert.Contains("cluster mode needs a unique node name for each silo (-n, --name or server_name)", noName.Output);

        var noCluster = await SiloProcess.RunToExitAsync("-p", "-1", "-m", "0", "-n", "a", "--cluster_store", store);
        Assert.Equal(1, noCluster.ExitCode);
        Assert.Contains("cluster mode needs a cluster name", noCluster.Output);

        var noStore = await SiloProcess.RunToExitAsync("-p", "-1", "-m", "0", "-n", "a", "--cluster_name", "c");
        Assert.Equal(1, noStore.ExitCode);
        Assert.Contains("cluster settings need a membership store", noStore.Output);
    }

    [Fact]
    public async Task In_a_cluster_a_store_written_by_one_node_name_is_refused_to_another()
    {
        int closed = SiloProcess.FreePort();
        var data = Path.Combine(Path.GetTempPath(), "silo-test-" + Guid.NewGuid().ToString("N"));
        string[] cluster = ["-p", "-1", "-m", "0", "--cluster_name", "c", "-sd", data, "--cluster_store", $"postgres://platform@127.0.0.1:{closed}/postgres"];
        // Node a opens (and names) the store before it finds the membership store down.
        var first = await SiloProcess.RunToExitAsync([.. cluster, "-n", "a"]);
        Assert.Contains("cluster membership store unavailable", first.Output);
        var other = await SiloProcess.RunToExitAsync([.. cluster, "-n", "b"]);
        Assert.Equal(1, other.ExitCode);
        Assert.Contains($"store directory {data} belongs to node \"a\", not \"b\"", other.Output);
    }

    [Fact]
    public async Task An_unreachable_membership_store_stops_the_start_with_its_reason()
    {
        int closed = SiloProcess.FreePort();
        var data = Path.Combine(Path.GetTempPath(), "silo-test-" + Guid.NewGuid().ToString("N"));
        var result = await SiloProcess.RunToExitAsync("-p", "-1", "-m", "0", "-n", "a", "--cluster_name", "c", "-sd", data,
            "--cluster_store", $"postgres://platform@127.0.0.1:{closed}/postgres");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cluster membership store unavailable", result.Output);
    }
}
