using System.Buffers;
using System.Text;

namespace Platform.Grains.Storage;

/// <summary>
/// Per-subject message count and first/last sequence of one log, kept in memory and rebuilt from the log on open.
/// Not thread-safe: the owning log guards it with its lock.
/// </summary>
/// <remarks>
/// Removing a subject's first or last message would need a log scan to find the next one; instead the entry is
/// marked stale and the owner resolves it when someone asks (<see cref="Entry.FirstStale"/>). A stale First is
/// still a lower bound and a stale Last an upper bound, because messages only ever disappear below or above them.
/// </remarks>
internal sealed class SubjectIndex
{
    private const int StackLimit = 256;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _byChars;

    public SubjectIndex() => _byChars = _entries.GetAlternateLookup<ReadOnlySpan<char>>();

    public int Count => _entries.Count;

    public Dictionary<string, Entry> Entries => _entries;

    public void Clear() => _entries.Clear();

    public bool TryGet(string subject, out Entry entry) => _entries.TryGetValue(subject, out entry!);

    public void OnAppend(ReadOnlySpan<byte> subject, ulong sequence)
    {
        var entry = Find(subject);
        if (entry is null)
        {
            entry = new Entry { First = sequence };
            _entries.Add(Encoding.UTF8.GetString(subject), entry);
        }
        entry.Count++;
        entry.Last = sequence;
        entry.LastStale = false;
    }

    /// <summary>Accounts for a removed message; returns false when the subject was not indexed (which means a bug).</summary>
    public bool OnRemove(ReadOnlySpan<byte> subject, ulong sequence) => OnRemove(subject, sequence, out _);

    /// <summary>Accounts for a removed message and hands out the index's own string for its subject (no allocation).</summary>
    public bool OnRemove(ReadOnlySpan<byte> subject, ulong sequence, out string key)
    {
        if (subject.Length <= StackLimit)
        {
            Span<char> chars = stackalloc char[subject.Length];
            if (Ascii.ToUtf16(subject, chars, out int written) == OperationStatus.Done)
            {
                if (!_byChars.TryGetValue(chars[..written], out key!, out var entry))
                    return false;
                Remove(key, entry, sequence);
                return true;
            }
        }
        key = Encoding.UTF8.GetString(subject);
        if (!_entries.TryGetValue(key, out var found))
            return false;
        Remove(key, found, sequence);
        return true;
    }

    /// <summary>
    /// Recovery: <paramref name="count"/> messages of the subject below <paramref name="floor"/> went (a journaled range
    /// removal). Its first becomes a stale lower bound; its last cannot have gone unless all of it did.
    /// </summary>
    public bool Subtract(ReadOnlySpan<byte> subject, ulong count, ulong floor)
    {
        var key = Encoding.UTF8.GetString(subject);
        if (!_entries.TryGetValue(key, out var entry) || entry.Count < count)
            return false;
        if (entry.Count == count)
        {
            _entries.Remove(key);
            return true;
        }
        entry.Count -= count;
        if (entry.First < floor)
        {
            entry.First = floor;
            entry.FirstStale = true;
        }
        return true;
    }

    public RecoveryCheckpoint.SubjectEntry[] Snapshot()
    {
        var entries = new RecoveryCheckpoint.SubjectEntry[_entries.Count];
        int i = 0;
        foreach (var (subject, entry) in _entries)
            entries[i++] = new RecoveryCheckpoint.SubjectEntry(subject, entry.Count, entry.First, entry.Last, entry.FirstStale, entry.LastStale);
        return entries;
    }

    public void Load(RecoveryCheckpoint.SubjectEntry[] entries)
    {
        _entries.Clear();
        _entries.EnsureCapacity(entries.Length);
        foreach (var entry in entries)
            _entries[entry.Subject] = new Entry { Count = entry.Count, First = entry.First, Last = entry.Last, FirstStale = entry.FirstStale, LastStale = entry.LastStale };
    }

    private void Remove(string key, Entry entry, ulong sequence)
    {
        if (entry.Count <= 1)
            _entries.Remove(key);
        else
            Decrement(entry, sequence);
    }

    private static void Decrement(Entry entry, ulong sequence)
    {
        entry.Count--;
        if (sequence == entry.First)
            entry.FirstStale = true;
        if (sequence == entry.Last)
            entry.LastStale = true;
    }

    /// <summary>Looks a stored subject up without allocating a string when it is ASCII and already indexed.</summary>
    private Entry? Find(ReadOnlySpan<byte> subject)
    {
        if (subject.Length <= StackLimit)
        {
            Span<char> chars = stackalloc char[subject.Length];
            if (Ascii.ToUtf16(subject, chars, out int written) == OperationStatus.Done)
                return _byChars.TryGetValue(chars[..written], out var found) ? found : null;
        }
        return _entries.TryGetValue(Encoding.UTF8.GetString(subject), out var entry) ? entry : null;
    }

    internal sealed class Entry
    {
        public ulong Count;
        public ulong First;
        public ulong Last;
        /// <summary>The first message was removed; <see cref="First"/> is only a lower bound until resolved.</summary>
        public bool FirstStale;
        /// <summary>The last message was removed; <see cref="Last"/> is only an upper bound until resolved.</summary>
        public bool LastStale;
    }
}
