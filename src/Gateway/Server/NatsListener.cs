using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Platform.Gateway.Server;

/// <summary>
/// Kestrel with the gateway's connection handler on the configured NATS address, in a host that is not a web host (a
/// plain Orleans host, an in-process test cluster); the silo executable listens through its WebApplication instead.
/// Registered after the silo, so it starts accepting clients once the silo has started and stops before it.
/// </summary>
internal sealed class NatsListener(IServiceProvider services, GatewayEndpoints endpoints) : IHostedService
{
    private KestrelServer? _server;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new KestrelServerOptions { ApplicationServices = services };
        var nats = endpoints.Options;
        options.Listen(GatewayHosting.ResolveAddress(nats.Host), nats.Port < 0 ? 0 : nats.Port, listen =>
        {
            listen.UseConnectionHandler<NatsConnectionHandler>();
            endpoints.Nats = listen;
        });
        var loggers = services.GetRequiredService<ILoggerFactory>();
        var transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions()), loggers);
        _server = new KestrelServer(Options.Create(options), transport, loggers);
        await _server.StartAsync(new NoRequests(), cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is null)
            return;
        services.GetRequiredService<NatsServer>().BeginShutdown();
        await _server.StopAsync(cancellationToken);
        _server.Dispose();
    }

    /// <summary>The NATS endpoint never runs HTTP; Kestrel only needs an application to start.</summary>
    private sealed class NoRequests : IHttpApplication<object>
    {
        public object CreateContext(IFeatureCollection contextFeatures) => new();
        public Task ProcessRequestAsync(object context) => Task.CompletedTask;
        public void DisposeContext(object context, Exception? exception)
        {
        }
    }
}
