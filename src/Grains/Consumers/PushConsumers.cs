namespace Platform.Grains.Consumers;

/// <summary>
/// The push consumers whose grain activated on this silo (their stream's home). The gateway of this silo runs one
/// delivery loop for each, whichever silo the consumer was made through and whichever silos restart, from the
/// activation until the consumer is deleted or moves with its stream; if Orleans deactivates the grain otherwise, the
/// loop's next fetch activates it here again. A loop driven from elsewhere would outlive a re-activation of its grain
/// and deliver beside the new one's, or die with its silo and leave the consumer silent.
/// </summary>
internal sealed class PushConsumers
{
    /// <summary>What runs the loops: told of every consumer active here when it attaches, then of each change.</summary>
    internal interface IHost
    {
        void Started(string stream, string consumer, PlatformConsumerConfig config);

        void Stopped(string stream, string consumer);

        void FlowControlAnswered(string stream, string consumer, string subject);
    }

    private readonly Dictionary<(string Stream, string Consumer), PlatformConsumerConfig> _active = [];
    private readonly Lock _lock = new();
    private IHost? _host;

    public void Attach(IHost host)
    {
        lock (_lock)
        {
            _host = host;
            foreach (var ((stream, consumer), config) in _active)
                host.Started(stream, consumer, config);
        }
    }

    public void Activated(string stream, string consumer, PlatformConsumerConfig config)
    {
        if (!config.IsPush)
            return;
        lock (_lock)
        {
            _active[(stream, consumer)] = config;
            _host?.Started(stream, consumer, config);
        }
    }

    public void Deactivated(string stream, string consumer)
    {
        lock (_lock)
        {
            if (_active.Remove((stream, consumer)))
                _host?.Stopped(stream, consumer);
        }
    }

    /// <summary>A client's flow control reply that reached another silo, passed on through the consumer's grain.</summary>
    public void FlowControlAnswered(string stream, string consumer, string subject)
    {
        IHost? host;
        lock (_lock)
            host = _active.ContainsKey((stream, consumer)) ? _host : null;
        host?.FlowControlAnswered(stream, consumer, subject);
    }
}
