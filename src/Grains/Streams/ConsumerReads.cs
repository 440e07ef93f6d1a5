using Platform.Grains.Storage;
using Platform.Grains.Subjects;

namespace Platform.Grains.Streams;

/// <summary>
/// A consumer's read of a stream partition's log, up to the last sequence its readers may see. The stream grain answers
/// <see cref="IStreamGrain.Read"/> with it, and <see cref="OpenLogs"/> answers a consumer grain on the same silo with it
/// directly, without that grain call.
/// </summary>
internal static class ConsumerReads
{
    /// <summary>
    /// Records from <paramref name="fromSequence"/> up to <paramref name="end"/> matching any filter (none: all), with
    /// where the consumer's position goes next and the count still pending after it.
    /// </summary>
    public static StreamRead Read(IMessageLog log, ulong end, ulong fromSequence, int maxCount, long maxBytes, string[] filters)
    {
        // A consumer that caught up asks this on every pull: answered without a read, which would open an iterator.
        if (fromSequence > end)
            return CaughtUp(end, fromSequence, log.State.FirstSequence);
        var records = new List<LogRecord>(Math.Min(maxCount, 1024));
        ulong next = Math.Max(fromSequence, log.State.FirstSequence);
        if (filters.Length <= 1)
        {
            log.Read(next, maxCount, maxBytes, filters.Length == 0 ? null : filters[0], records);
            if (DropAbove(records, end))
                next = end + 1;
            else if (records.Count > 0 && (records.Count == maxCount || maxBytes > 0))
                next = records[^1].Sequence + 1;
            else if (maxBytes <= 0)
                // Fewer than asked: the read went to the end, and a consumer's position with it (as nats-server's
                // filtered consumer passes the messages its filter skips).
                next = Math.Max(next, end + 1);
        }
        else
        {
            // Several filters: read everything and keep what matches any, in sequence order.
            var chunk = new List<LogRecord>(256);
            long bytes = 0;
            while (records.Count < maxCount && next <= end)
            {
                chunk.Clear();
                if (log.Read(next, 256, 0, null, chunk) == 0)
                {
                    next = end + 1;
                    break;
                }
                foreach (var record in chunk)
                {
                    if (record.Sequence > end)
                    {
                        next = end + 1;
                        break;
                    }
                    next = record.Sequence + 1;
                    if (!MatchesAny(record.SubjectBytes, filters))
                        continue;
                    if (maxBytes > 0 && bytes + (long)record.Size > maxBytes)
                        return StreamRead.From(records, end, record.Sequence, CountFrom(log, record.Sequence, end, filters));
                    bytes += (long)record.Size;
                    records.Add(record);
                    if (records.Count == maxCount)
                        break;
                }
            }
        }
        return StreamRead.From(records, end, next, CountFrom(log, next, end, filters));
    }

    /// <summary>The answer to a read from past <paramref name="end"/>: nothing, and the position stays where it is.</summary>
    public static StreamRead CaughtUp(ulong end, ulong fromSequence, ulong firstSequence)
        => StreamRead.From([], end, Math.Max(fromSequence, firstSequence));

    /// <summary>Drops the records read past <paramref name="end"/> (a replicated stream's uncommitted tail); whether there were any.</summary>
    private static bool DropAbove(List<LogRecord> records, ulong end)
    {
        int keep = records.Count;
        while (keep > 0 && records[keep - 1].Sequence > end)
            keep--;
        if (keep == records.Count)
            return false;
        records.RemoveRange(keep, records.Count - keep);
        return true;
    }

    /// <summary>Counts as <see cref="CountFrom(IMessageLog, ulong, string[])"/>, but only up to <paramref name="end"/>.</summary>
    public static ulong CountFrom(IMessageLog log, ulong fromSequence, ulong end, string[] filters)
    {
        if (end >= log.State.LastSequence)
            return CountFrom(log, fromSequence, filters);
        return fromSequence > end ? 0 : CountFrom(log, fromSequence, filters) - CountFrom(log, end + 1, filters);
    }

    /// <summary>
    /// Counts from the indexes rather than the messages: unfiltered it is the sequence range less its deletions, and
    /// per subject only a subject that straddles <paramref name="fromSequence"/> is walked. A consumer on a stream
    /// of millions asks this once per fetch.
    /// </summary>
    private static ulong CountFrom(IMessageLog log, ulong fromSequence, string[] filters)
    {
        var state = log.State;
        if (state.Messages == 0 || fromSequence > state.LastSequence)
            return 0;
        fromSequence = Math.Max(fromSequence, state.FirstSequence);
        if (filters.Length == 0)
        {
            if (fromSequence == state.FirstSequence)
                return state.Messages;
            ulong deleted = 0;
            if (state.NumDeleted > 0)
                foreach (var seq in log.DeletedSequences)
                    if (seq >= fromSequence) deleted++;
            return state.LastSequence - fromSequence + 1 - deleted;
        }
        ulong count = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var chunk = new List<LogRecord>(1024);
        foreach (var filter in filters)
        {
            foreach (var (subject, total) in log.SubjectCounts(filter))
            {
                if (!seen.Add(subject))
                    continue;
                var subjectState = log.GetSubjectState(subject);
                if (subjectState.First >= fromSequence)
                {
                    count += total;
                }
                else if (subjectState.Last >= fromSequence)
                {
                    ulong next = fromSequence;
                    while (true)
                    {
                        chunk.Clear();
                        if (log.Read(next, 1024, 0, subject, chunk) == 0)
                            break;
                        count += (ulong)chunk.Count;
                        next = chunk[^1].Sequence + 1;
                    }
                }
            }
        }
        return count;
    }

    public static bool MatchesAny(ReadOnlySpan<byte> subject, string[] filters)
    {
        foreach (var filter in filters)
            if (SubjectMatch.Matches(subject, filter))
                return true;
        return false;
    }
}
