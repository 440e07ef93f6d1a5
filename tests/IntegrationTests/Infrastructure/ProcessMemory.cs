namespace Platform.IntegrationTests.Infrastructure;

/// <summary>What a process holds in memory as the system sees it.</summary>
internal static class ProcessMemory
{
    /// <summary>The resident set size (VmRSS) of process <paramref name="pid"/> in bytes.</summary>
    public static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]) * 1024;
        }
        throw new InvalidOperationException($"no VmRSS for process {pid}");
    }
}
