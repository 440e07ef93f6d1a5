using System.Threading.Channels;
using NATS.Client.Core;
using Platform.Load.Options;

namespace Platform.Load.Scenarios;

/// <summary>Opens the client connections, one per publisher or subscriber, like independent clients of nats bench.</summary>
internal static class Connections
{
    public static async Task<NatsConnection> OpenAsync(LoadOptions options, string name, CancellationToken ct)
    {
        var connection = new NatsConnection(new NatsOpts
        {
            Url = options.Url,
            Name = $"load-{name}",
            // The client's default drops messages when a subscription's queue is full; a load test must not lose
            // messages on its own side, so make the reader wait and let TCP push back on the server instead.
            SubPendingChannelCapacity = 16_384,
            SubPendingChannelFullMode = BoundedChannelFullMode.Wait,
            // A server that goes away mid-run is a finding, not something to paper over by reconnecting.
            MaxReconnectRetry = 0,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            RequestTimeout = TimeSpan.FromSeconds(5),
            SuppressSlowConsumerWarnings = true,
        });
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(ct);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
        return connection;
    }
}
