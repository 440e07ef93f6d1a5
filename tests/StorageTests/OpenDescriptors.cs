namespace Platform.StorageTests;

/// <summary>What the process really holds open, from /proc rather than from what the code under test believes.</summary>
internal static class OpenDescriptors
{
    /// <summary>The descriptors the process has open on files under <paramref name="directory"/>.</summary>
    public static int Under(string directory)
    {
        int count = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith(directory + "/", StringComparison.Ordinal))
                    count++;
            }
            catch (IOException)
            {
                // Closed between the listing and the read.
            }
        }
        return count;
    }
}
