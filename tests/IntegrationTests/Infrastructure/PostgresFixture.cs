namespace Platform.IntegrationTests.Infrastructure;

/// <summary>A real PostgreSQL for the cluster tests of one class; not started when PostgreSQL is missing.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public PostgresProcess? Postgres { get; private set; }

    public async Task InitializeAsync()
    {
        if (PostgresProcess.SkipReason is null)
            Postgres = await PostgresProcess.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (Postgres is not null)
            await Postgres.DisposeAsync();
    }
}
