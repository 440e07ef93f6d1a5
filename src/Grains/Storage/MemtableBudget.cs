namespace Platform.Grains.Storage;

/// <summary>
/// The memory the memtables of all open logs share. A log freezes its memtable (and starts its merge) once the
/// records in it reach its part: the budget over the open logs, split between the memtable being written and the
/// frozen ones that may wait for a merge. Without it every log holds up to 75k-125k records however many logs are
/// open and however little memory the process has.
/// </summary>
internal sealed class MemtableBudget
{
    // What a memtable entry costs besides its record's bytes: the array's header and length, and the B+tree's slot
    // (key and reference) with its share of the node.
    internal const int EntryOverheadBytes = 48;

    private int _logs;
    private long _closed;

    public MemtableBudget(long totalBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalBytes);
        TotalBytes = totalBytes;
    }

    /// <summary>
    /// A quarter of <paramref name="memoryBudget"/> (the silo's memory_budget), or without one a quarter of what the
    /// process may use: the machine's memory or its container's limit, as the GC sees it.
    /// </summary>
    /// <remarks>The other three quarters are for what is not a memtable: the subject indexes, consumers, reads, the
    /// runtime and Orleans (~35 MB of heap at rest), and the room the GC needs to collect without stalling.</remarks>
    public static MemtableBudget For(long memoryBudget)
        => new(Math.Max(1, (memoryBudget > 0 ? memoryBudget : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes) / 4));

    public long TotalBytes { get; }

    /// <summary>Logs open now, each entitled to an equal part.</summary>
    public int Logs => Volatile.Read(ref _logs);

    public void Join() => Interlocked.Increment(ref _logs);

    public void Leave()
    {
        Interlocked.Decrement(ref _logs);
        Interlocked.Increment(ref _closed);
    }

    /// <summary>Logs closed (or dropped with their stream) so far: each gave back what its memtables held.</summary>
    public long LogsClosed => Volatile.Read(ref _closed);

    /// <summary>What one log's memtables together (the one written and the frozen ones) may hold now.</summary>
    public long PerLogBytes => TotalBytes / Math.Max(1, Logs);
}
