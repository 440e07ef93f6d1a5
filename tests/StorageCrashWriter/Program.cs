using Platform.Grains.Storage;
using Platform.StorageCrashWriter;

// Appends until killed, printing "acked N" once Append has returned for N: everything printed must survive the kill.
// With --retain it also keeps only the newest messages, printing "floor F" once RemoveBelow(F) has returned.
const int RetainEvery = 25_000;
const int RetainNewest = 10_000;

if (args.Length is < 1 or > 2 || (args.Length == 2 && args[1] != "--retain"))
{
    Console.Error.WriteLine("usage: Platform.StorageCrashWriter <log directory> [--retain]");
    return 2;
}
bool retain = args.Length == 2;

var log = ZoneTreeMessageLog.Open(new MessageLogOptions { Directory = args[0] });
var stdout = Console.Out;
stdout.WriteLine($"opened {log.State.FirstSequence}..{log.State.LastSequence}");
stdout.Flush();
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
