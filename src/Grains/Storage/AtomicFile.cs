namespace Platform.Grains.Storage;

/// <summary>
/// Metadata files are replaced whole: written to a temporary file, flushed to disk, then renamed over the old one,
/// so a crash leaves the old file or the new one, never half of one.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            write(file);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}
