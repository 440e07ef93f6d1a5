using System.Buffers;
using Platform.Grains.Streams;
using Platform.Gateway.Routing;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>
/// Decides which publishes a stream stores: a router of stream subjects mirroring the catalog, kept current as the
/// API creates, updates and deletes streams.
/// </summary>
internal sealed class StreamCapture(IGrainFactory grains) : IPublishInterceptor
{
    private readonly SubjectRouter _router = new();
    private readonly Dictionary<string, StreamTarget> _streams = new(StringComparer.Ordinal);

    public void Set(StreamConfig config)
    {
        lock (_streams)
        {
            Remove(config.Name);
            var target = new StreamTarget(config, grains.GetGrain<IStreamGrain>(config.Name));
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

    public StreamTarget? Find(string name)
    {
        lock (_streams)
            return _streams.GetValueOrDefault(name);
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

    public ValueTask EndOfReadAsync(NatsClient publisher)
        => publisher.Batcher is { IsEmpty: false } batcher ? batcher.FlushAsync(publisher.Server) : ValueTask.CompletedTask;
}
