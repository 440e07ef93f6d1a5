using System.Diagnostics;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>Silo processes joined into one cluster through a real PostgreSQL membership table (helpers the cluster tests share).</summary>
internal static class ProcessCluster
{
    /// <summary>
    /// Orleans' failure detection tuned down for tests through the silo's configuration (README, Cluster): a probe every
    /// 2 s and two missed probes make a silo suspect, so a killed silo is declared dead within seconds (defaults: 5 s
    /// and 3, plus the table refresh). Not lower: a silo starved of CPU by the other tests must not be declared dead.
    /// </summary>
    public static readonly Dictionary<string, string> FastFailureDetection = new()
    {
        ["Orleans__Membership__ProbeTimeout"] = "00:00:02",
        ["Orleans__Membership__NumMissedProbesLimit"] = "2",
        ["Orleans__Membership__TableRefreshTimeout"] = "00:00:02",
    };

    public static Task<SiloProcess> StartNodeAsync(PostgresProcess postgres, string cluster, string name, string? dataDirectory = null)
        => SiloProcess.StartAsync(jetStream: true, dataDirectory, port: 0, FastFailureDetection,
            "-n", name, "--cluster_name", cluster, "--cluster_store", postgres.Url);

    /// <summary>The node names of the cluster's Active members, sorted.</summary>
    public static Task<List<string>> ActiveAsync(PostgresProcess postgres, string cluster)
        => postgres.QueryAsync($"SELECT SiloName FROM OrleansMembershipTable WHERE DeploymentId = '{cluster}' AND Status = 3 ORDER BY SiloName");

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<Task<string>> describe)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout)
                Assert.Fail($"not within {timeout.TotalSeconds} s: {await describe()}");
            await Task.Delay(100);
        }
    }

    public static Task WaitForActiveAsync(PostgresProcess postgres, string cluster, string[] names, TimeSpan timeout)
        => WaitUntilAsync(async () => (await ActiveAsync(postgres, cluster)).SequenceEqual(names), timeout,
            async () => $"active: {string.Join(", ", await ActiveAsync(postgres, cluster))}, expected {string.Join(", ", names)}");

    public static async Task DisposeAllAsync(IEnumerable<SiloProcess> silos)
    {
        foreach (var silo in silos)
            await silo.DisposeAsync();
    }
}
