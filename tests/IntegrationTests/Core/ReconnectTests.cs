using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Core;

public sealed class ReconnectTests
{
    [Fact]
    public async Task Client_reconnects_after_silo_restart_and_resubscribes()
    {
        int port = SiloProcess.FreePort();
        var silo = await SiloProcess.StartAsync(jetStream: false, port: port);
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url, ReconnectWaitMin = TimeSpan.FromMilliseconds(100), ReconnectWaitMax = TimeSpan.FromMilliseconds(300) });
        await nats.ConnectAsync();
        await using var sub = await nats.SubscribeCoreAsync<string>("after.restart");
        await silo.StopAsync();
        await silo.DisposeAsync();

        await using var restarted = await SiloProcess.StartAsync(jetStream: false, port: port, dataDirectory: silo.DataDirectory);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (nats.ConnectionState != NatsConnectionState.Open)
            await Task.Delay(50, cts.Token);
        await nats.PingAsync(cts.Token);
        await nats.PublishAsync("after.restart", "again", cancellationToken: cts.Token);
        var msg = await sub.Msgs.ReadAsync(cts.Token);
        Assert.Equal("again", msg.Data);
    }
}
