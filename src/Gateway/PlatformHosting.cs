using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Platform.Gateway.Server;
using Platform.Grains.Streaming;
using Platform.Grains.Streams;

namespace Platform.Gateway;

/// <summary>The platform on an existing Orleans silo, in one call.</summary>
public static class PlatformHosting
{
    /// <summary>
    /// Adds everything the platform needs to this silo: the streaming services (stream and consumer grains over a store
    /// in <see cref="PlatformOptions.StoreDirectory"/>), the Orleans stream provider <see cref="PlatformOptions.StreamProvider"/>
    /// and, unless <see cref="PlatformOptions.NatsGateway"/> is off, the NATS gateway (core NATS and JetStream) listening
    /// on <see cref="PlatformOptions.Nats"/>'s address once the silo has started. Options come from the configuration
    /// section <c>Platform</c>, then <paramref name="configure"/>; the provider's from <c>Platform:Streams</c>, then
    /// <paramref name="streams"/>. Invalid options stop here with every problem listed.
    /// </summary>
    /// <exception cref="OptionsValidationException">The options are invalid.</exception>
    public static ISiloBuilder AddPlatform(this ISiloBuilder silo, Action<PlatformOptions>? configure = null, Action<PlatformStreamOptions>? streams = null)
    {
        var section = silo.Configuration.GetSection(PlatformOptions.SectionName);
        var options = new PlatformOptions();
        section.Bind(options);
        configure?.Invoke(options);
        // What is registered depends on the values (whether and where to listen), so they are checked now, not at start.
        var validator = new PlatformOptionsValidator();
        var result = validator.Validate(Options.DefaultName, options);
        if (result.Failed)
            throw new OptionsValidationException(Options.DefaultName, typeof(PlatformOptions), result.Failures);
        silo.Services.AddSingleton<IValidateOptions<PlatformOptions>>(validator);
        silo.Services.AddOptions<PlatformOptions>().Bind(section).Configure(o => configure?.Invoke(o)).ValidateOnStart();

        var nats = options.Nats;
        nats.JetStream = true;
        nats.StoreDirectory = options.StoreDirectory;
        nats.SyncInterval = options.SyncInterval;
        if (options.NatsGateway)
        {
            var endpoints = silo.Services.AddNatsGatewayServices(nats);
            silo.Services.AddHostedService(sp => new NatsListener(sp, endpoints));
        }
        else
        {
            silo.Services.AddPlatformStreaming(o => o.FromNats(nats));
        }
        silo.AddPlatformStreams(options.StreamProvider, c =>
        {
            c.ConfigurePlatformStreams(ob => ob.Bind(section.GetSection("Streams")).Configure(o => streams?.Invoke(o)));
            if (options.KeepSubscriptionsInStore)
                c.KeepSubscriptionsInStore();
        });
        return silo;
    }
}
