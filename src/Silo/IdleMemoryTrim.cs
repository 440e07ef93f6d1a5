using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Grains.Storage;
using System.Diagnostics;

namespace Platform.Silo;

/// <summary>
/// Gives memory back to the operating system once the silo goes quiet after load or after a stream was deleted.
/// </summary>
/// <remarks>
/// The GC keeps what a load made it commit: after storing 1M 128 B messages the silo held 316 MB for as long as it
/// stayed idle, while one aggressive collection 15 s later brought it to 212 MB (perf/README.md, footprint). Message
/// records live on the pinned heap (RecordCodec), which is never compacted, so only a collection that decommits
/// free space returns it. The collection blocks, so it runs once per quiet spell, never under load, and again in the
/// same spell only when a stream log closed since (a deleted stream: its memtable and index are garbage now, but the
/// working set did not grow, so without that the silo kept them; 189 MB before and 193 MB 20 s after deleting a
/// stream of 1M messages).
/// </remarks>
/// <param name="memtables">The stream logs' memtables, to learn of logs that closed; null without JetStream.</param>
internal sealed class IdleMemoryTrim(ILogger<IdleMemoryTrim> logger, MemtableBudget? memtables) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(5);
    // An idle silo allocates ~60 KB/s (timers, metrics); a publisher at 100 msgs/s about as much again.
    private const long QuietAllocationBytes = 4 << 20;
    // Below this much growth since the last quiet spell, a trim is not worth its pause.
    private const long WorthTrimmingBytes = 32 << 20;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        long allocated = GC.GetTotalAllocatedBytes();
        bool trimmedSinceLoad = false;
        // The GC's own figures miss what it keeps in free regions; the working set is what the system sees.
        long quietWorkingSet = 0;
        long logsClosedAtTrim = 0;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            long now = GC.GetTotalAllocatedBytes();
            bool quiet = now - allocated < QuietAllocationBytes;
            allocated = now;
            if (!quiet)
            {
                trimmedSinceLoad = false;
                continue;
            }
            long logsClosed = memtables?.LogsClosed ?? 0;
            bool released = logsClosed != logsClosedAtTrim;
            if (trimmedSinceLoad && !released)
                continue;
            trimmedSinceLoad = true;
            long before = Environment.WorkingSet;
            if (before - quietWorkingSet < WorthTrimmingBytes && !released)
                continue;
            logsClosedAtTrim = logsClosed;
            long started = Stopwatch.GetTimestamp();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            quietWorkingSet = Environment.WorkingSet;
            logger.LogInformation("Quiet after {Cause}: working set {Before} MB -> {After} MB, in a {Elapsed} ms collection",
                released ? "closing stream logs" : "load", before >> 20, quietWorkingSet >> 20, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            allocated = GC.GetTotalAllocatedBytes();
        }
    }
}
