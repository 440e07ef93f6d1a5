using Microsoft.Extensions.Hosting;

namespace Platform.Gateway.JetStream;

/// <summary>Loads the stream catalog into the capture router and opens the $JS.API, once the silo is up.</summary>
internal sealed class JetStreamStartup(JetStreamApi api) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => api.StartAsync();

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
