using Platform.Grains.Storage;
using Platform.StorageCrashWriter;

// Appends until killed, printing "acked N" once Append has returned for N: everything printed must survive the kill.
// With --retain it also keeps only the newest messages, printing "floor F" once RemoveBelow(F) has returned.
// With --ops SEED it runs random appends, deletes and purges instead (RandomOps), printing "ops N" now and then; with
// --scenario NAME one of the fixed Scenarios, printing "done" when it is through, then waits to be killed. With --close
// it only opens the log, prints how it recovered, and closes it cleanly (a measuring aid for perf/recovery).
const int RetainEvery = 25_000;
const int RetainNewest = 10_000;

bool ops = args.Length == 3 && args[1] == "--ops" && int.TryParse(args[2], out _);
bool scenario = args.Length == 3 && args[1] == "--scenario";
if (args.Length is < 1 or > 3 || (args.Length == 2 && args[1] is not ("--retain" or "--close")) || (args.Length == 3 && !ops && !scenario))
{
    Console.Error.WriteLine("usage: Platform.StorageCrashWriter <log directory> [--retain | --close | --ops SEED | --scenario NAME]");
    return 2;
}
bool close = args.Length == 2 && args[1] == "--close";
bool retain = args.Length == 2 && !close;

var log = ZoneTreeMessageLog.Open(ops ? RandomOps.Options(args[0]) : scenario ? Scenarios.Options(args[0]) : new MessageLogOptions { Directory = args[0] });
var stdout = Console.Out;
stdout.WriteLine($"opened {log.State.FirstSequence}..{log.State.LastSequence}: {log.Recovery}");
stdout.Flush();
if (close)
{
    await log.DisposeAsync();
    return 0;
}
if (ops)
{
    await RandomOps.RunAsync(log, int.Parse(args[2]), stdout);
    return 0;
}
if (scenario)
{
    await Scenarios.RunAsync(log, args[2], args[0]);
    stdout.WriteLine("done");
    stdout.Flush();
    await Task.Delay(Timeout.Infinite);
}
while (true)
{
    await log.WaitForCapacityAsync();
    ulong expected = log.State.LastSequence + 1;
    ulong sequence = log.Append(CrashMessages.Subject(expected), CrashMessages.Headers(expected), CrashMessages.Payload(expected), CrashMessages.Timestamp(expected));
    if (sequence != expected)
    {
        Console.Error.WriteLine($"appended {sequence}, expected {expected}");
        return 1;
    }
    stdout.WriteLine($"acked {sequence}");
    if (retain && sequence % RetainEvery == 0)
    {
        ulong floor = sequence - RetainNewest + 1;
        log.RemoveBelow(floor);
        stdout.WriteLine($"floor {floor}");
    }
    stdout.Flush();
}
