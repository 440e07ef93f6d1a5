using System.Buffers.Binary;
using System.Diagnostics;
using Platform.Grains.Consumers;
using Platform.Grains.Storage;

namespace Platform.Gateway.JetStream;

/// <summary>
/// replay_policy original: messages go out one at a time with the gaps they were stored with, measured from when
/// the previous one went out. Instant replay (the default) never waits here.
/// </summary>
internal sealed class ReplayPacer
{
    private long _lastStoredNanos;
    private long _lastSentTimestamp;

    public async ValueTask PaceAsync(DeliveryBatch batch, CancellationToken cancellationToken = default)
    {
        if (batch.Count == 0)
            return;
        int length = BinaryPrimitives.ReadInt32LittleEndian(batch.Frames.AsSpan(28));
        long stored = RecordCodec.GetTimestampNanos(batch.Frames.AsSpan(32, length));
        if (_lastStoredNanos != 0 && stored > _lastStoredNanos)
        {
            var gap = TimeSpan.FromTicks((stored - _lastStoredNanos) / 100) - Stopwatch.GetElapsedTime(_lastSentTimestamp);
            if (gap > TimeSpan.Zero)
                await Task.Delay(gap, cancellationToken);
        }
        _lastStoredNanos = stored;
        _lastSentTimestamp = Stopwatch.GetTimestamp();
    }
}
