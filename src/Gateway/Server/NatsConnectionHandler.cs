using Microsoft.AspNetCore.Connections;

namespace Platform.Gateway.Server;

/// <summary>Kestrel hands every accepted NATS connection here.</summary>
internal sealed class NatsConnectionHandler(NatsServer server) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => new NatsClient(server, connection).RunAsync();
}
