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
    public bool OnRemove(ReadOnlySpan<byte> subject, ulong sequence)
    {
        if (subject.Length <= StackLimit)
        {
            Span<char> chars = stackalloc char[subject.Length];
            if (Ascii.ToUtf16(subject, chars, out int written) == OperationStatus.Done)
                return RemoveFrom(_byChars, chars[..written], sequence);
        }
        return RemoveFrom(_entries, Encoding.UTF8.GetString(subject), sequence);
    }

    private bool RemoveFrom(Dictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> lookup, ReadOnlySpan<char> key, ulong sequence)
    {
        if (!lookup.TryGetValue(key, out var entry))
            return false;
        if (entry.Count <= 1)
            lookup.Remove(key);
        else
            Decrement(entry, sequence);
        return true;
    }

    private bool RemoveFrom(Dictionary<string, Entry> map, string key, ulong sequence)
    {
        if (!map.TryGetValue(key, out var entry))
            return false;
        if (entry.Count <= 1)
            map.Remove(key);
        else
            Decrement(entry, sequence);
        return true;
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
