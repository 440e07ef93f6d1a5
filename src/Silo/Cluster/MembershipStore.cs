using System.Reflection;
using Npgsql;
using Platform.Silo.Configuration;

namespace Platform.Silo.Cluster;

/// <summary>
/// The PostgreSQL database that holds the cluster's Orleans membership table: its connection string, and its schema,
/// created at start when absent so a fresh database needs no manual step.
/// </summary>
internal static class MembershipStore
{
    /// <summary>The ADO.NET invariant under which the Orleans provider finds Npgsql.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>The provider refuses to start unless every one of these statements is in OrleansQuery.</summary>
    private static readonly string[] QueryKeys =
    [
        "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "UpdateIAmAlivetimeKey",
        "MembershipReadRowKey", "MembershipReadAllKey", "GatewaysQueryKey", "DeleteMembershipTableEntriesKey",
        "CleanupDefunctSiloEntriesKey", "CleanupDefunctSiloEntryKey",
    ];

    /// <summary>
    /// An Npgsql connection string from <c>postgres://user:password@host:port/database?key=value</c> (as PostgreSQL's
    /// own tools take it) or from an Npgsql connection string, which is passed through.
    /// </summary>
    public static string ConnectionString(string store)
    {
        if (!store.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            && !store.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                return new NpgsqlConnectionStringBuilder(store).ConnectionString;
            }
            catch (ArgumentException ex)
            {
                throw new ConfigException($"invalid cluster membership store: {ex.Message}");
            }
        }
        if (!Uri.TryCreate(store, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
            throw new ConfigException($"invalid cluster membership store \"{store}\": expected postgres://user:password@host:port/database");
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.Port > 0 ? uri.Port : 5432,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : "postgres",
        };
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
                builder.Password = Uri.UnescapeDataString(parts[1]);
        }
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            try
            {
                builder[Uri.UnescapeDataString(kv[0])] = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            }
            catch (ArgumentException ex)
            {
                throw new ConfigException($"invalid cluster membership store option \"{kv[0]}\": {ex.Message}");
            }
        }
        return builder.ConnectionString;
    }

    /// <summary>
    /// Creates the membership schema unless all the provider's statements are there already (a database prepared by an
    /// administrator may not let the silo's user create tables). Idempotent and safe when several silos start at once.
    /// </summary>
    public static async Task EnsureSchemaAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        if (await HasSchemaAsync(connection, cancellationToken))
            return;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await SchemaLock.AcquireAsync(connection, transaction, cancellationToken);
        // Another silo may have created it while this one waited for the lock.
        if (!await HasSchemaAsync(connection, cancellationToken))
        {
            await using var command = new NpgsqlCommand(Script(), connection, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task<bool> HasSchemaAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var exists = new NpgsqlCommand("SELECT to_regclass('orleansquery') IS NOT NULL", connection);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not true)
            return false;
        await using var count = new NpgsqlCommand("SELECT count(*) FROM OrleansQuery WHERE QueryKey = ANY(@keys)", connection);
        count.Parameters.AddWithValue("keys", QueryKeys);
        return Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken)) == QueryKeys.Length;
    }

    private static string Script()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Platform.Silo.Cluster.PostgreSQL-Membership.sql")
            ?? throw new InvalidOperationException("the membership schema script is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
