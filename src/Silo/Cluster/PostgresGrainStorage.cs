using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Serialization;
using Orleans.Storage;

namespace Platform.Silo.Cluster;

/// <summary>
/// Orleans grain storage in a PostgreSQL table, for the state a cluster keeps beyond any one silo: the stream catalog
/// and the explicit subscriptions of Orleans streams. One row per grain and state name; the ETag is a version that
/// every write must name, so two activations of one grain (Orleans allows them while membership settles) can never
/// overwrite each other: the later writer gets an <see cref="InconsistentStateException"/>. Rows are keyed by the
/// cluster's service id too, so clusters that share a database never read each other's catalog.
/// </summary>
internal sealed class PostgresGrainStorage(NpgsqlDataSource database, Serializer serializer, string serviceId) : IGrainStorage
{
    private const string Table = "platform_grain_state";

    internal const string Schema = $"""
        CREATE TABLE IF NOT EXISTS {Table} (
            grain_id text NOT NULL,
            state_name text NOT NULL,
            version bigint NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (grain_id, state_name))
        """;

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await using var command = database.CreateCommand($"SELECT version, data FROM {Table} WHERE grain_id = $1 AND state_name = $2");
        command.Parameters.Add(new() { Value = Key(grainId) });
        command.Parameters.Add(new() { Value = stateName });
        await using var reader = await command.ExecuteReaderAsync();
        if (await reader.ReadAsync())
        {
            grainState.ETag = reader.GetInt64(0).ToString(System.Globalization.CultureInfo.InvariantCulture);
            grainState.State = serializer.Deserialize<T>(reader.GetFieldValue<byte[]>(1));
            grainState.RecordExists = true;
        }
        else
        {
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var data = serializer.SerializeToArray(grainState.State);
        long version;
        NpgsqlCommand command;
        if (grainState.ETag is null)
        {
            version = 1;
            command = database.CreateCommand($"INSERT INTO {Table} (grain_id, state_name, version, data) VALUES ($1, $2, 1, $3) ON CONFLICT DO NOTHING");
        }
        else
        {
            long expected = long.Parse(grainState.ETag, System.Globalization.CultureInfo.InvariantCulture);
            version = expected + 1;
            command = database.CreateCommand($"UPDATE {Table} SET version = version + 1, data = $3 WHERE grain_id = $1 AND state_name = $2 AND version = $4");
        }
        await using (command)
        {
            command.Parameters.Add(new() { Value = Key(grainId) });
            command.Parameters.Add(new() { Value = stateName });
            command.Parameters.Add(new() { Value = data });
            if (grainState.ETag is not null)
                command.Parameters.Add(new() { Value = version - 1 });
            if (await command.ExecuteNonQueryAsync() != 1)
                throw new InconsistentStateException($"State {stateName} of {grainId} was written by someone else since it was read", "unknown", grainState.ETag ?? "none");
        }
        grainState.ETag = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (grainState.ETag is null)
            return;
        await using var command = database.CreateCommand($"DELETE FROM {Table} WHERE grain_id = $1 AND state_name = $2 AND version = $3");
        command.Parameters.Add(new() { Value = Key(grainId) });
        command.Parameters.Add(new() { Value = stateName });
        command.Parameters.Add(new() { Value = long.Parse(grainState.ETag, System.Globalization.CultureInfo.InvariantCulture) });
        if (await command.ExecuteNonQueryAsync() != 1)
            throw new InconsistentStateException($"State {stateName} of {grainId} was written by someone else since it was read", "unknown", grainState.ETag);
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    private string Key(GrainId grainId) => serviceId + "/" + grainId;

    /// <summary>Creates the table if it is missing; safe to run from every silo at start.</summary>
    public static async Task EnsureSchemaAsync(NpgsqlDataSource database, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await SchemaLock.AcquireAsync(connection, transaction, cancellationToken);
        await using (var command = new NpgsqlCommand(Schema, connection, transaction))
            await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}

internal static class PostgresGrainStorageHosting
{
    /// <summary>Registers storage <paramref name="name"/> in the PostgreSQL database of <paramref name="connectionString"/>.</summary>
    public static ISiloBuilder AddPostgresGrainStorage(this ISiloBuilder silo, string name, string connectionString)
    {
        silo.Services.TryAddPostgresDataSource(connectionString);
        silo.Services.AddKeyedSingleton<IGrainStorage>(name, (sp, _) =>
            new PostgresGrainStorage(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<Serializer>(),
                sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<Orleans.Configuration.ClusterOptions>>().Value.ServiceId));
        return silo;
    }

    private static void TryAddPostgresDataSource(this IServiceCollection services, string connectionString)
    {
        if (services.Any(s => s.ServiceType == typeof(NpgsqlDataSource)))
            return;
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
    }
}
