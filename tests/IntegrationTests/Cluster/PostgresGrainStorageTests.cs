using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;
using Platform.IntegrationTests.Infrastructure;
using Platform.Silo.Cluster;

namespace Platform.IntegrationTests.Cluster;

/// <summary>
/// The grain storage of a cluster's catalog and pub-sub state, against a real PostgreSQL: what is written is read back,
/// and a write or clear that names a version someone else has replaced changes nothing and fails.
/// </summary>
public sealed class PostgresGrainStorageTests(PostgresFixture fixture) : IClassFixture<PostgresFixture>
{
    private static readonly Serializer Serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    private async Task<PostgresGrainStorage> StorageAsync(string serviceId = "tests")
    {
        var database = NpgsqlDataSource.Create(fixture.Postgres!.ConnectionString);
        await PostgresGrainStorage.EnsureSchemaAsync(database, CancellationToken.None);
        await PostgresGrainStorage.EnsureSchemaAsync(database, CancellationToken.None);
        return new PostgresGrainStorage(database, Serializer, serviceId);
    }

    [SkippableFact]
    public async Task Clusters_sharing_a_database_keep_their_own_state()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        var (one, two) = (await StorageAsync("one-" + Guid.NewGuid().ToString("N")), await StorageAsync("two-" + Guid.NewGuid().ToString("N")));
        var grain = GrainId.Create("catalog", "0");
        await one.WriteStateAsync("catalog", grain, new GrainState<string>("one's"));
        var read = new GrainState<string>();
        await two.ReadStateAsync("catalog", grain, read);
        Assert.False(read.RecordExists);
        await two.WriteStateAsync("catalog", grain, new GrainState<string>("two's"));
        await one.ReadStateAsync("catalog", grain, read);
        Assert.Equal("one's", read.State);
    }

    [SkippableFact]
    public async Task Writes_are_conditional_on_the_version_read()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        var storage = await StorageAsync();
        var grain = GrainId.Create("test", Guid.NewGuid().ToString("N"));

        var first = new GrainState<string>("one");
        await storage.WriteStateAsync("s", grain, first);
        var read = new GrainState<string>();
        await storage.ReadStateAsync("s", grain, read);
        Assert.True(read.RecordExists);
        Assert.Equal("one", read.State);
        Assert.Equal(first.ETag, read.ETag);

        // Two readers of one version: the first writer wins, the second fails and changes nothing.
        var other = new GrainState<string>();
        await storage.ReadStateAsync("s", grain, other);
        read.State = "two";
        await storage.WriteStateAsync("s", grain, read);
        other.State = "stale";
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", grain, other));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("s", grain, other));
        // A second creator of a record that exists fails too.
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", grain, new GrainState<string>("again")));

        var now = new GrainState<string>();
        await storage.ReadStateAsync("s", grain, now);
        Assert.Equal("two", now.State);
        await storage.ClearStateAsync("s", grain, now);
        var gone = new GrainState<string>();
        await storage.ReadStateAsync("s", grain, gone);
        Assert.False(gone.RecordExists);
    }
}
