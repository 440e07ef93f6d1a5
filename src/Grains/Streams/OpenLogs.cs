using System.Collections.Concurrent;
using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>
/// Read access to the logs of the stream grains active on this silo. The Orleans stream provider's cache cursors
/// must answer synchronously (IQueueCacheCursor.MoveNext), so they cannot await <see cref="IStreamGrain.Read"/>;
/// they read the log here instead, while it is open: a lease keeps it from closing under the read, and a closed log
/// is not opened for them (the cursor serves what the receiver handed over instead).
/// </summary>
internal sealed class OpenLogs
{
    private readonly ConcurrentDictionary<string, StreamLog> _logs = new(StringComparer.Ordinal);

    public void Register(string stream, StreamLog log) => _logs[stream] = log;

    public void Unregister(string stream, StreamLog log) => _logs.TryRemove(KeyValuePair.Create(stream, log));

    /// <summary>Reads like <see cref="IMessageLog.Read"/>; false when the stream's log is not open on this silo.</summary>
    public bool TryRead(string stream, ulong fromSequence, int maxCount, string? subjectFilter, List<LogRecord> into)
    {
        if (!_logs.TryGetValue(stream, out var handle) || !handle.TryUse(out var lease))
            return false;
        using (lease)
        {
            var log = lease.Log;
            log.Read(Math.Max(fromSequence, log.State.FirstSequence), maxCount, 0, subjectFilter, into);
            return true;
        }
    }
}
