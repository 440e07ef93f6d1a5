using Platform.Grains.Storage;
using Platform.StorageCrashWriter;

// Appends until killed, printing "acked N" once Append has returned for N: everything printed must survive the kill.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Platform.StorageCrashWriter <log directory>");
    return 2;
}

var log = ZoneTreeMessageLog.Open(new MessageLogOptions { Directory = args[0] });
var stdout = Console.Out;
stdout.WriteLine($"opened {log.State.LastSequence}");
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
    stdout.Flush();
}
