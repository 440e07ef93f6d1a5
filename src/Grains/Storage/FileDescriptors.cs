using System.Runtime.InteropServices;

namespace Platform.Grains.Storage;

/// <summary>
/// The process's file descriptor limit (RLIMIT_NOFILE) and how many it has open. Running out is not an error the
/// runtime recovers from: thread creation, accept and ZoneTree's merges fail in ways that crash the process, so the
/// silo sizes what it keeps open from the limit and checks the real count before it opens more.
/// </summary>
internal static partial class FileDescriptors
{
    private const int RlimitNofile = 7;

    /// <summary>The soft limit; -1 when it cannot be read (not Linux) or is unlimited.</summary>
    public static long SoftLimit()
    {
        if (!OperatingSystem.IsLinux() || getrlimit(RlimitNofile, out var limit) != 0 || limit.Current > int.MaxValue)
            return -1;
        return (long)limit.Current;
    }

    /// <summary>How many descriptors the process has open; -1 when /proc cannot tell.</summary>
    public static int CountOpen()
    {
        try
        {
            int count = 0;
            foreach (var _ in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
                count++;
            // The enumeration held one descriptor of its own for the directory.
            return count - 1;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);
}
