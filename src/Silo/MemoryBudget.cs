namespace Platform.Silo;

/// <summary>
/// memory_budget: the hard limit of the silo's managed heap. The GC collects harder as the heap nears it, and the
/// stream logs size their memtables to a quarter of it (<c>StreamStore.Memtables</c>), so the heap's peak under
/// load stays within it; what the process maps besides (the runtime, its assemblies, JIT-compiled code: ~80 MB at rest,
/// perf/README.md) comes on top.
/// </summary>
internal static class MemoryBudget
{
    /// <summary>
    /// The smallest budget publishing ran in without an allocation failing: at 64 MB one stream's publishers failed
    /// within a second (OutOfMemoryException in merges and appends), at 96 MB four streams did, at 128 MB neither
    /// (perf/README.md, footprint). The heap holds ~35 MB at rest (Orleans, the runtime).
    /// </summary>
    public const long Minimum = 128L << 20;

    public const string Expected = "a size of at least 128MB, or 0 for no budget";

    public static bool IsValid(long bytes) => bytes == 0 || bytes >= Minimum;

    /// <summary>Sets the GC's hard heap limit to <paramref name="bytes"/> in the running process; 0 leaves it alone.</summary>
    public static void Apply(long bytes)
    {
        if (bytes == 0)
            return;
        // GCHeapHardLimit is read when the runtime starts; RefreshMemoryLimit makes the GC read it again, so the budget
        // can come from the silo's own configuration instead of an environment variable set before launch.
        AppContext.SetData("GCHeapHardLimit", (ulong)bytes);
        GC.RefreshMemoryLimit();
    }
}
