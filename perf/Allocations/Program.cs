using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// Summarises a .nettrace taken with `dotnet-trace collect --profile gc-verbose`: bytes allocated by type (from the
// runtime's allocation ticks, one per ~100 KB allocated, each naming the type that crossed the mark), and the
// collections by generation and reason with the time the runtime was suspended for them.
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: Platform.Allocations TRACE.nettrace [TOP]");
    return 2;
}
int top = args.Length > 1 ? int.Parse(args[1]) : 15;
var bytesByType = new Dictionary<string, long>();
var collections = new Dictionary<(int Generation, string Reason), (int Count, double PauseMs)>();
double suspendedAt = -1, firstEvent = -1, lastEvent = 0;
(int Generation, string Reason)? current = null;

using (var source = new EventPipeEventSource(args[0]))
{
    source.Clr.GCAllocationTick += e =>
    {
        bytesByType[e.TypeName ?? "?"] = bytesByType.GetValueOrDefault(e.TypeName ?? "?") + e.AllocationAmount64;
        if (firstEvent < 0) firstEvent = e.TimeStampRelativeMSec;
        lastEvent = e.TimeStampRelativeMSec;
    };
    source.Clr.GCStart += e => current = (e.Depth, e.Reason.ToString());
    source.Clr.GCSuspendEEStart += e => suspendedAt = e.TimeStampRelativeMSec;
    source.Clr.GCRestartEEStop += e =>
    {
        if (suspendedAt < 0 || current is not { } key)
            return;
        var (count, pause) = collections.GetValueOrDefault(key);
        collections[key] = (count + 1, pause + e.TimeStampRelativeMSec - suspendedAt);
        suspendedAt = -1;
        current = null;
    };
    source.Process();
}

double seconds = Math.Max(0.001, (lastEvent - firstEvent) / 1000);
long total = bytesByType.Values.Sum();
Console.WriteLine($"allocated {total / 1048576.0:F0} MB in {seconds:F1} s ({total / 1048576.0 / seconds:F1} MB/s), by type:");
Console.WriteLine();
Console.WriteLine("| type | MB | share |");
Console.WriteLine("|---|---|---|");
foreach (var (type, bytes) in bytesByType.OrderByDescending(p => p.Value).Take(top))
    Console.WriteLine($"| `{type}` | {bytes / 1048576.0:F0} | {100.0 * bytes / total:F1}% |");
Console.WriteLine();
Console.WriteLine("| collection | reason | count | suspended ms total | mean ms |");
Console.WriteLine("|---|---|---|---|---|");
foreach (var ((generation, reason), (count, pause)) in collections.OrderBy(p => p.Key.Generation).ThenByDescending(p => p.Value.Count))
    Console.WriteLine($"| gen{generation} | {reason} | {count} | {pause:F0} | {pause / count:F2} |");
return 0;
