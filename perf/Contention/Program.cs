using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;

// Reads a .nettrace taken with the runtime's contention events and the sample profiler (perf/Contention/run.sh) and
// prints every lock wait of at least THRESHOLD ms with what the lock's owner was doing meanwhile (its sampled stacks),
// the GC suspension inside the wait, and the waits grouped by where they waited.
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: Platform.Contention TRACE.nettrace [THRESHOLD_MS]");
    return 2;
}
double threshold = args.Length > 1 ? double.Parse(args[1]) : 1.0;
using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(args[0]));
var source = log.Events.GetSource();

var started = new Dictionary<int, (double At, int Owner, string Stack)>();
var samples = new List<(double At, int Thread, string Stack)>();
var pauses = new List<(double Start, double End)>();
var byWaiter = new Dictionary<string, (int Count, double Ms)>();
double suspendedAt = -1;

source.AllEvents += e =>
{
    if (e.ProviderName == "Microsoft-DotNETCore-SampleProfiler" && e.EventName == "Thread/Sample")
        samples.Add((e.TimeStampRelativeMSec, e.ThreadID, Stack(e.CallStack(), 12)));
};
source.Clr.GCSuspendEEStart += e => suspendedAt = e.TimeStampRelativeMSec;
source.Clr.GCRestartEEStop += e =>
{
    if (suspendedAt >= 0)
        pauses.Add((suspendedAt, e.TimeStampRelativeMSec));
    suspendedAt = -1;
};
source.Clr.ContentionStart += e => started[e.ThreadID] = (e.TimeStampRelativeMSec, (int)e.LockOwnerThreadID, Stack(e.CallStack(), 8));
source.Clr.ContentionStop += e =>
{
    if (!started.Remove(e.ThreadID, out var wait))
        return;
    double end = e.TimeStampRelativeMSec, ms = end - wait.At;
    if (ms < threshold)
        return;
    var (count, total) = byWaiter.GetValueOrDefault(wait.Stack);
    byWaiter[wait.Stack] = (count + 1, total + ms);
    double suspended = pauses.Sum(p => Math.Max(0, Math.Min(end, p.End) - Math.Max(wait.At, p.Start)));
    Console.WriteLine($"{wait.At,9:F0} ms: waited {ms:F1} ms (GC suspension inside it {suspended:F1} ms), owner thread {wait.Owner}:");
    var owner = samples.Where(s => s.Thread == wait.Owner && s.At >= wait.At && s.At <= end).ToList();
    foreach (var group in owner.GroupBy(s => s.Stack).OrderByDescending(g => g.Count()).Take(2))
        Console.WriteLine($"    {group.Count()} of {owner.Count} samples:\n        {group.Key}");
};
source.Process();

Console.WriteLine();
Console.WriteLine($"waits of {threshold} ms or more, by where they waited:");
foreach (var (stack, (count, total)) in byWaiter.OrderByDescending(p => p.Value.Ms))
    Console.WriteLine($"  {count} waits, {total:F1} ms:\n        {stack}");
return 0;

static string Stack(TraceCallStack? stack, int frames)
{
    var names = new List<string>();
    for (var frame = stack; frame is not null && names.Count < frames; frame = frame.Caller)
        names.Add(frame.CodeAddress.FullMethodName is { Length: > 0 } name ? name : frame.CodeAddress.ModuleName + "!?");
    return string.Join("\n        ", names);
}
