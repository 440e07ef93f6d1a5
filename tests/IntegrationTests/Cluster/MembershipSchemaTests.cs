using Npgsql;
using Platform.IntegrationTests.Infrastructure;
using Platform.Silo.Cluster;

namespace Platform.IntegrationTests.Cluster;

/// <summary>
/// The membership schema the silo creates, against a real PostgreSQL: created idempotently (also by several silos at
/// once), and its stored statements keep the provider's contract: a write with a stale table version changes nothing
/// and answers 0, a current one changes the row and the version together and answers 1.
/// </summary>
public sealed class MembershipSchemaTests(PostgresFixture fixture) : IClassFixture<PostgresFixture>
{
    private PostgresProcess Postgres => fixture.Postgres!;

    /// <summary>Runs the stored statement <paramref name="key"/> with parameters bound by name, as the provider does.</summary>
    private async Task<object?> RunAsync(string key, Dictionary<string, object?> parameters)
    {
        await using var connection = new NpgsqlConnection(Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var text = new NpgsqlCommand("SELECT QueryText FROM OrleansQuery WHERE QueryKey = @k", connection);
        text.Parameters.AddWithValue("k", key);
        await using var command = new NpgsqlCommand((string)(await text.ExecuteScalarAsync())!, connection);
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return await command.ExecuteScalarAsync();
    }

    private static Dictionary<string, object?> Row(string cluster, int port, int version, int status = 3) => new()
    {
        ["DeploymentId"] = cluster, ["Address"] = "127.0.0.1", ["Port"] = port, ["Generation"] = 1, ["SiloName"] = $"s{port}",
        ["HostName"] = "h", ["Status"] = status, ["ProxyPort"] = 30000, ["StartTime"] = DateTime.UtcNow,
        ["IAmAliveTime"] = DateTime.UtcNow, ["SuspectTimes"] = null, ["Version"] = version,
    };

    private Task<List<string>> VersionAsync(string cluster)
        => Postgres.QueryAsync($"SELECT Version FROM OrleansMembershipVersionTable WHERE DeploymentId = '{cluster}'");

    [SkippableFact]
    public async Task Schema_is_created_once_by_concurrent_silos_and_writes_need_the_current_version()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => MembershipStore.EnsureSchemaAsync(Postgres.ConnectionString, CancellationToken.None)));
        await MembershipStore.EnsureSchemaAsync(Postgres.ConnectionString, CancellationToken.None);
        Assert.Equal(["10"], await Postgres.QueryAsync("SELECT count(*) FROM OrleansQuery"));

        const string c = "schema";
        Assert.Equal(1, Convert.ToInt32(await RunAsync("InsertMembershipVersionKey", new() { ["DeploymentId"] = c })));
        Assert.Equal(0, Convert.ToInt32(await RunAsync("InsertMembershipVersionKey", new() { ["DeploymentId"] = c })));

        Assert.Equal(1, Convert.ToInt32(await RunAsync("InsertMembershipKey", Row(c, 1001, version: 0))));
        Assert.Equal(["1"], await VersionAsync(c));
        // Stale version: no row, no version step.
        Assert.Equal(0, Convert.ToInt32(await RunAsync("InsertMembershipKey", Row(c, 1002, version: 0))));
        // Current version but the row exists: neither.
        Assert.Equal(0, Convert.ToInt32(await RunAsync("InsertMembershipKey", Row(c, 1001, version: 1))));
        Assert.Equal(["1"], await VersionAsync(c));
        Assert.Equal(["s1001"], await Postgres.QueryAsync($"SELECT SiloName FROM OrleansMembershipTable WHERE DeploymentId = '{c}'"));

        Assert.Equal(0, Convert.ToInt32(await RunAsync("UpdateMembershipKey", Row(c, 1001, version: 0, status: 6))));
        Assert.Equal(0, Convert.ToInt32(await RunAsync("UpdateMembershipKey", Row(c, 1003, version: 1, status: 6))));
        Assert.Equal(["1"], await VersionAsync(c));
        Assert.Equal(1, Convert.ToInt32(await RunAsync("UpdateMembershipKey", Row(c, 1001, version: 1, status: 6))));
        Assert.Equal(["2"], await VersionAsync(c));
        Assert.Equal(["6"], await Postgres.QueryAsync($"SELECT Status FROM OrleansMembershipTable WHERE DeploymentId = '{c}'"));

        await RunAsync("CleanupDefunctSiloEntryKey", Row(c, 1001, version: 2));
        Assert.Empty(await Postgres.QueryAsync($"SELECT SiloName FROM OrleansMembershipTable WHERE DeploymentId = '{c}'"));
    }
}
