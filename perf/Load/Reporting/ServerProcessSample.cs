using System.Globalization;

namespace Platform.Load.Reporting;

/// <summary>
/// CPU time and peak memory of the server process under test, read from /proc when it runs on this machine
/// (--server-pid). Sampled by the load generator itself so that the warm-up is left out of the CPU figure.
/// </summary>
internal readonly record struct ServerProcessSample(double CpuSeconds, long PeakRssKb)
{
    // USER_HZ, the unit of utime/stime in /proc/<pid>/stat, is 100 on every Linux build .NET runs on.
    private const double TicksPerSecond = 100;

    public static ServerProcessSample? TryRead(int? pid)
    {
        if (pid is not { } p)
            return null;
        try
        {
            var stat = File.ReadAllText($"/proc/{p}/stat");
            // Fields after the ")" closing the command name start with the state (field 3); utime and stime are
            // fields 14 and 15, so the 12th and 13th after it.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            long hwm = 0;
            foreach (var line in File.ReadLines($"/proc/{p}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    hwm = long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
            return new ServerProcessSample(ticks / TicksPerSecond, hwm);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // The process is gone or not readable: the report says "unknown" rather than failing the run.
            return null;
        }
    }
}
