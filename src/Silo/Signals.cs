using System.Diagnostics;
using System.Runtime.InteropServices;
using Platform.Silo.Configuration;

namespace Platform.Silo;

/// <summary>
/// The process signals nats-server answers to, so operators' scripts work unchanged: SIGUSR2 starts lame duck mode,
/// and <c>--signal ldm|term|quit|stop[=pid]</c> sends one to a running silo.
/// </summary>
internal static class Signals
{
    /// <summary>SIGUSR2: 12 on Linux, 31 on macOS and the BSDs. .NET has no named value for it, but accepts the raw
    /// number on Unix.</summary>
    public static PosixSignal LameDuck => (PosixSignal)(OperatingSystem.IsLinux() ? 12 : 31);

    /// <summary>Calls <paramref name="onLameDuck"/> on SIGUSR2 instead of the default action (terminating); null on
    /// Windows, which has no such signal.</summary>
    public static PosixSignalRegistration? RegisterLameDuck(Action onLameDuck)
    {
        if (OperatingSystem.IsWindows())
            return null;
        return PosixSignalRegistration.Create(LameDuck, context =>
        {
            context.Cancel = true;
            onLameDuck();
        });
    }

    /// <summary>Runs <c>--signal</c>: returns the exit code.</summary>
    public static int Send(string argument)
    {
        var eq = argument.IndexOf('=');
        var name = eq < 0 ? argument : argument[..eq];
        int signal = name.ToLowerInvariant() switch
        {
            "ldm" => (int)LameDuck,
            "term" => 15,
            "quit" => 2,
            "stop" => 9,
            _ => throw new ConfigException($"unknown signal \"{name}\" (ldm, term, quit or stop)"),
        };
        int pid;
        if (eq >= 0)
        {
            if (!int.TryParse(argument.AsSpan(eq + 1), out pid) || pid <= 0)
                throw new ConfigException($"invalid pid \"{argument[(eq + 1)..]}\"");
        }
        else
        {
            var candidates = Process.GetProcessesByName("Platform.Silo").Where(p => p.Id != Environment.ProcessId).ToArray();
            if (candidates.Length != 1)
                throw new ConfigException(candidates.Length == 0
                    ? "no silo process found; give its pid: --signal " + name + "=<pid>"
                    : "several silo processes found; give the pid: --signal " + name + "=<pid>");
            pid = candidates[0].Id;
        }
        if (kill(pid, signal) != 0)
            throw new ConfigException($"could not signal process {pid}: errno {Marshal.GetLastPInvokeError()}");
        return 0;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
