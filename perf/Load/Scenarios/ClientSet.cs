using NATS.Client.Core;
using Platform.Load.Options;

namespace Platform.Load.Scenarios;

/// <summary>A group of connections opened together and closed together, so every scenario cleans up the same way.</summary>
internal sealed class ClientSet : IAsyncDisposable
{
    private readonly List<NatsConnection> _connections = [];

    public NatsConnection this[int index] => _connections[index];

    public int Count => _connections.Count;

    public static Task<ClientSet> OpenAsync(LoadOptions options, string role, int count, CancellationToken ct)
        => OpenAsync(_ => options, role, count, ct);

    /// <summary>Opens <paramref name="count"/> connections, the i-th with the options <paramref name="optionsOf"/> gives for i.</summary>
    public static async Task<ClientSet> OpenAsync(Func<int, LoadOptions> optionsOf, string role, int count, CancellationToken ct)
    {
        var set = new ClientSet();
        try
        {
            for (var i = 0; i < count; i++)
                set._connections.Add(await Connections.OpenAsync(optionsOf(i), $"{role}-{i}", ct));
        }
        catch
        {
            await set.DisposeAsync();
            throw;
        }
        return set;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _connections)
        {
            try
            {
                await c.DisposeAsync();
            }
            catch (Exception ex)
            {
                // Closing a connection to a server that already went away must not hide the run's own result.
                Console.Error.WriteLine($"warning: closing connection: {ex.Message}");
            }
        }
        _connections.Clear();
    }
}
