using System.Collections.Concurrent;

namespace Platform.Grains.Streams;

/// <summary>
/// The cheap signal from a stream to its consumers: a last-sequence watermark per stream in this silo's memory.
/// Stream grains advance it once per appended batch; consumer grains, placed on the same silo, wait on it instead of
/// receiving a call per message.
/// </summary>
public sealed class StreamSignals
{
    private readonly ConcurrentDictionary<string, Watermark> _streams = new(StringComparer.Ordinal);

    public void Advance(string stream, ulong lastSequence) => Get(stream).Advance(lastSequence);

    /// <summary>Wakes every waiter of the stream, e.g. when it is purged or deleted.</summary>
    public void Poke(string stream) => Get(stream).Poke();

    /// <summary>Completes when the stream's last sequence passes <paramref name="sequence"/>, on a poke, or after the timeout.</summary>
    public Task WaitBeyondAsync(string stream, ulong sequence, TimeSpan timeout)
    {
        var watermark = Get(stream);
        var (last, changed) = watermark.Snapshot();
        if (last > sequence || timeout <= TimeSpan.Zero)
            return Task.CompletedTask;
        return Task.WhenAny(changed, Task.Delay(timeout));
    }

    private Watermark Get(string stream) => _streams.GetOrAdd(stream, static _ => new Watermark());

    private sealed class Watermark
    {
        private ulong _last;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public (ulong Last, Task Changed) Snapshot()
        {
            lock (this)
                return (_last, _changed.Task);
        }

        public void Advance(ulong last)
        {
            TaskCompletionSource fired;
            lock (this)
            {
                if (last <= _last)
                    return;
                _last = last;
                fired = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            fired.TrySetResult();
        }

        public void Poke()
        {
            TaskCompletionSource fired;
            lock (this)
            {
                fired = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            fired.TrySetResult();
        }
    }
}
