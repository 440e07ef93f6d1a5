using System.Collections.Concurrent;
using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>
/// Read access to the logs of the stream grains active on this silo, while they are open: a lease keeps a log from
/// closing under the read, and a closed log is not opened here.
/// </summary>
/// <remarks>
/// <para>The Orleans stream provider's cache cursors must answer synchronously (IQueueCacheCursor.MoveNext), so they
/// cannot await <see cref="IStreamGrain.Read"/>; they read here, and serve what the receiver handed over when the log
/// is closed.</para>
/// <para>Consumer grains live where their stream's grain does, and read here to save the grain call each fetch made
/// to the stream grain (a turn there and the answer's turn back); they call it when the log is closed. With a
/// <c>Fetch(1)</c> loop that call was two of the seven thread hand-offs a pull took on the silo.</para>
/// </remarks>
internal sealed class OpenLogs
{
    private readonly ConcurrentDictionary<string, Entry> _logs = new(StringComparer.Ordinal);

    /// <param name="readable">The last sequence readers may see, of a log whose last sequence is the argument (a
    /// replicated stream's committed one); called on the reader's thread.</param>
    public void Register(string stream, StreamLog log, Func<ulong, ulong> readable) => _logs[stream] = new Entry(log, readable);

    public void Unregister(string stream, StreamLog log)
    {
        if (_logs.TryGetValue(stream, out var entry) && entry.Log == log)
            _logs.TryRemove(KeyValuePair.Create(stream, entry));
    }

    /// <summary>Reads like <see cref="IMessageLog.Read"/>; false when the stream's log is not open on this silo.</summary>
    /// <remarks>Not held to the readable end: the stream cursors that read here stop at their cache's watermark, the
    /// last record the receiver handed over, and the receiver reads through <see cref="IStreamGrain.Read"/>, which
    /// is held to it.</remarks>
    public bool TryRead(string stream, ulong fromSequence, int maxCount, string? subjectFilter, List<LogRecord> into)
    {
        if (!_logs.TryGetValue(stream, out var entry) || !entry.Log.TryUse(out var lease))
            return false;
        using (lease)
        {
            var log = lease.Log;
            log.Read(Math.Max(fromSequence, log.State.FirstSequence), maxCount, 0, subjectFilter, into);
            return true;
        }
    }

    /// <summary>Reads as <see cref="IStreamGrain.Read"/> answers; null when the stream's log is not open on this silo.</summary>
    public StreamRead? TryReadForConsumer(string stream, ulong fromSequence, int maxCount, long maxBytes, string[] filters)
    {
        if (!_logs.TryGetValue(stream, out var entry) || !entry.Log.TryUse(out var lease))
            return null;
        using (lease)
        {
            var log = lease.Log;
            return ConsumerReads.Read(log, entry.Readable(log.State.LastSequence), fromSequence, maxCount, maxBytes, filters);
        }
    }

    private sealed record Entry(StreamLog Log, Func<ulong, ulong> Readable);
}
