using Microsoft.Extensions.Hosting;

namespace Platform.Gateway.Server;

/// <summary>
/// One timer for all connections (auth timeouts and keep-alive pings) instead of a timer per client, and the
/// closing of every client when the host stops, so shutdown does not wait on open connections.
/// </summary>
internal sealed class Housekeeping(NatsServer server, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        lifetime.ApplicationStopping.Register(server.BeginShutdown);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                long now = Environment.TickCount64;
                foreach (var client in server.Clients)
                {
                    if (server.ShuttingDown)
                        client.Close("Server Shutdown");
                    else
                        client.Tick(now);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
