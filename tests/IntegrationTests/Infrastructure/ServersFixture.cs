namespace Platform.IntegrationTests.Infrastructure;

/// <summary>One silo and, when installed, one nats-server shared by the core protocol tests.</summary>
public sealed class ServersFixture : IAsyncLifetime
{
    public SiloProcess Silo { get; private set; } = null!;
    public NatsServerProcess? Reference { get; private set; }

    public async Task InitializeAsync()
    {
        var silo = SiloProcess.StartAsync(jetStream: true);
        if (NatsServerProcess.ExecutablePath is not null)
            Reference = await NatsServerProcess.StartAsync();
        Silo = await silo;
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        if (Reference is not null)
            await Reference.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ServersCollection : ICollectionFixture<ServersFixture>
{
    public const string Name = "servers";
}
