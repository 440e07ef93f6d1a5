using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Net;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>
/// Tests that drive the shared silo (<see cref="ServersFixture"/>) as a NATS.Net application does: one connection and
/// its JetStream context, opened before each test and closed after it.
/// </summary>
public abstract class SiloClientTests(ServersFixture servers) : IAsyncLifetime
{
    protected ServersFixture Servers { get; } = servers;
    protected NatsConnection Nats { get; private set; } = null!;
    protected INatsJSContext Js { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        Nats = new NatsConnection(new NatsOpts { Url = Servers.Silo.Url });
        await Nats.ConnectAsync();
        Js = Nats.CreateJetStreamContext();
    }

    public virtual async Task DisposeAsync() => await Nats.DisposeAsync();
}
