using System.Buffers;
using Platform.Grains.Cluster;
using Platform.Grains.Node;
using Platform.Grains.Streams;
using Platform.Gateway.Routing;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>
/// Decides which publishes a stream stores: a router of stream subjects mirroring the catalog, kept current by the
/// catalog's change feed, whichever path created, updated or deleted the stream.
/// </summary>
internal sealed class StreamCapture : IPublishInterceptor
{
    private readonly SubjectRouter _router = new();
    private readonly Dictionary<string, StreamTarget> _streams = new(StringComparer.Ordinal);
    private readonly IGrainFactory _grains;
    private readonly ConsumerApi _consumers;
    private readonly StreamHomes _homes;

    public StreamCapture(IGrainFactory grains, ConsumerApi consumers, CatalogChanges changes, CatalogView catalog, NodeIdentity node)
    {
        _grains = grains;
        _consumers = consumers;
        _homes = new StreamHomes(catalog, node);
        changes.Set += Set;
        changes.Removed += Remove;
    }

    public void Set(PlatformStreamConfig config)
    {
        lock (_streams)
        {
            Remove(config.Name);
            var target = new StreamTarget(config, _grains, _homes);
            foreach (var subject in config.Subjects)
            {
                var sub = new Subscription(subject, null, [], null, target);
                target.Subscriptions.Add(sub);
                _router.Add(sub);
            }
            _streams[config.Name] = target;
        }
    }

    public void Remove(string name)
    {
        lock (_streams)
        {
            if (!_streams.Remove(name, out var target))
                return;
            foreach (var sub in target.Subscriptions)
                _router.Remove(sub);
        }
    }

    public int Count
    {
        get { lock (_streams) return _streams.Count; }
    }

    public StreamTarget? Find(string name)
    {
        lock (_streams)
            return _streams.GetValueOrDefault(name);
    }

    /// <summary>The stream that stores a publish on <paramref name="subject"/>, null when none does.</summary>
    public StreamTarget? Capturing(ReadOnlySpan<byte> subject)
    {
        var match = _router.Match(subject);
        return match.Plain.Length == 0 ? null : (StreamTarget)match.Plain[0].Handler!;
    }

    public bool TryCapture(NatsClient publisher, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength, in ReadOnlySequence<byte> message)
    {
        var match = _router.Match(subject);
        if (match.Plain.Length == 0)
            return false;
        var target = match.Plain[0].Handler!;
        target.OnMessage(match.Plain[0], subject, reply, headerLength, message, publisher);
        return true;
    }

    /// <summary>Sends the read's publishes, then its acks: a client that publishes and acks in one write sees both applied.</summary>
    public ValueTask EndOfReadAsync(NatsClient publisher)
    {
        bool publishes = publisher.Batcher is { IsEmpty: false };
        bool acks = publisher.Acks is { IsEmpty: false };
        if (!publishes && !acks)
            return ValueTask.CompletedTask;
        return FlushAsync(publisher, publishes, acks);
    }

    private async ValueTask FlushAsync(NatsClient publisher, bool publishes, bool acks)
    {
        if (publishes)
            await publisher.Batcher!.FlushAsync(publisher.Server);
        if (acks)
            await publisher.Acks!.FlushAsync(publisher.Server, _consumers);
    }
}
