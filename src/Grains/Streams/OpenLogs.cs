using System.Collections.Concurrent;
using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>
/// Read access to the logs the stream grains of this silo hold open. The Orleans stream provider's cache cursors
/// must answer synchronously (IQueueCacheCursor.MoveNext), so they cannot await <see cref="IStreamGrain.Read"/>;
/// they read the log here instead. A grain unregisters its log before disposing it, under the same lock the readers
/// take, so a read never touches a disposed log.
/// </summary>
internal sealed class OpenLogs
{
    private readonly ConcurrentDictionary<string, Entry> _logs = new(StringComparer.Ordinal);

    public void Register(string stream, IMessageLog log)
    {
        var entry = _logs.GetOrAdd(stream, static _ => new Entry());
        lock (entry)
            entry.Log = log;
    }

    public void Unregister(string stream, IMessageLog log)
    {
        if (!_logs.TryGetValue(stream, out var entry))
            return;
        lock (entry)
        {
            if (ReferenceEquals(entry.Log, log))
                entry.Log = null;
        }
    }

    /// <summary>Reads like <see cref="IMessageLog.Read"/>; false when no grain of this silo has the stream's log open.</summary>
    public bool TryRead(string stream, ulong fromSequence, int maxCount, string? subjectFilter, List<LogRecord> into)
    {
        if (!_logs.TryGetValue(stream, out var entry))
            return false;
        lock (entry)
        {
            if (entry.Log is not { } log)
                return false;
            log.Read(Math.Max(fromSequence, log.State.FirstSequence), maxCount, 0, subjectFilter, into);
            return true;
        }
    }

    private sealed class Entry
    {
        public IMessageLog? Log;
    }
}
