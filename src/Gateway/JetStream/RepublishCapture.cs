using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>
/// Republished messages that a stream captures, e.g. a stream republishing into a KV bucket's subjects: nats-server
/// sends a republish as an ordinary internal publish, so whichever stream captures the destination stores it, Nats-*
/// headers included. Stream grains republish inside their append turn, so each captured message is copied into a
/// queue and stored from outside any grain, in order, one batch per stream and round, without acks: at most once, as
/// the republish itself.
/// </summary>
internal sealed class RepublishCapture : IDisposable
{
    /// <summary>What may wait for its stream; beyond it a republish is dropped, as a slow core subscriber's would be.</summary>
    private const int MaxQueued = 65_536;
    /// <summary>Messages per round, so one round's batch buffers stay small.</summary>
    private const int MaxPerRound = 1024;

    private readonly record struct Captured(StreamTarget Target, byte[] Subject, int HeaderLength, byte[] Message);

    private readonly NatsServer _server;
    private readonly StreamCapture _capture;
    private readonly PublishBatcher _batcher = new();
    private readonly Channel<Captured> _queue = Channel.CreateBounded<Captured>(
        new BoundedChannelOptions(MaxQueued) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    public RepublishCapture(NatsServer server, StreamCapture capture)
    {
        _server = server;
        _capture = capture;
        _ = Task.Run(StoreAsync);
    }

    /// <summary>
    /// Queues a republished message for the stream capturing <paramref name="subject"/>, if any. Never the stream that
    /// republished it: that would be a cycle, which nats-server refuses in the config.
    /// </summary>
    public void Offer(string fromStream, ReadOnlySpan<byte> subject, int headerLength, ReadOnlySpan<byte> message)
    {
        if (_capture.Capturing(subject) is not { } target || target.Name == fromStream)
            return;
        _queue.Writer.TryWrite(new Captured(target, subject.ToArray(), headerLength, message.ToArray()));
    }

    private async Task StoreAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync())
        {
            try
            {
                for (int n = 0; n < MaxPerRound && reader.TryRead(out var m); n++)
                    m.Target.Add(_batcher, m.Subject, default, m.HeaderLength, new ReadOnlySequence<byte>(m.Message));
                // Failed appends are logged by the round; with no reply subjects there are no acks to write.
                await _batcher.FlushAsync(_server);
            }
            catch (Exception ex)
            {
                // One bad round must not stop every later republish from being stored.
                _server.Logger.LogError(ex, "Storing republished messages failed");
            }
        }
    }

    public void Dispose() => _queue.Writer.TryComplete();
}
