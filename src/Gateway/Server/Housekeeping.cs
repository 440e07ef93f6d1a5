using Microsoft.Extensions.Hosting;

namespace Platform.Gateway.Server;

/// <summary>One timer for all connections: auth timeouts and keep-alive pings, instead of a timer per client.</summary>
internal sealed class Housekeeping(NatsServer server) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                long now = Environment.TickCount64;
                foreach (var client in server.Clients)
                    client.Tick(now);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
