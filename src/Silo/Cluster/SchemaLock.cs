using Npgsql;

namespace Platform.Silo.Cluster;

/// <summary>
/// Serialises the silos' schema creation: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe when run at the same
/// moment by several sessions (one fails with 23505 on pg_type, seen when a test started three silos at once).
/// </summary>
internal static class SchemaLock
{
    /// <summary>Holds the lock until <paramref name="transaction"/> ends.</summary>
    public static async Task AcquireAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext('platform-schema'))", connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
