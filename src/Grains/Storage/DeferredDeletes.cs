using System.Threading.Channels;
using ZoneTree.AbstractFileStream;

namespace Platform.Grains.Storage;

/// <summary>
/// The engine's file access, except that a file it deletes is renamed out of its way and unlinked in the background.
/// </summary>
/// <remarks>
/// ZoneTree 2.1.3 deletes a merged WAL chunk while it holds the lock every append takes (the shared WAL's
/// <c>Retire</c>, <c>Reclaim</c>, <c>DeleteChunk</c>). Unlinking a 16 MB chunk frees its blocks: an EventPipe trace of
/// the lock's owner while appends waited on it showed that unlink at every merge, 3–20 ms each time, so every publish
/// waited that long once per merge (perf/latency/RESULTS.md). A rename within the directory takes microseconds.
/// Renamed files are unlinked soon after, so disk space still comes back; a crash leaves them for the next open.
/// </remarks>
internal sealed class DeferredDeletes : IFileStreamProvider, IDisposable, IAsyncDisposable
{
    internal const string DirectoryName = "deleting";

    private readonly LocalFileStreamProvider _files = new();
    private readonly string _directory;
    // Names set aside by this instance never meet those a crashed one left behind.
    private readonly string _prefix = Guid.NewGuid().ToString("N")[..8];
    private readonly Channel<string> _unlinks = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _unlinking;
    private long _named;
    private long _setAside;

    public DeferredDeletes(string logDirectory)
    {
        _directory = Path.Combine(logDirectory, DirectoryName);
        Directory.CreateDirectory(_directory);
        foreach (var leftover in Directory.EnumerateFiles(_directory))
            _unlinks.Writer.TryWrite(leftover);
        _unlinking = Task.Run(UnlinkAsync);
    }

    /// <summary>Files set aside so far by this instance; for tests.</summary>
    internal long SetAside => Volatile.Read(ref _setAside);

    public void DeleteFile(string path)
    {
        var aside = Path.Combine(_directory, $"{_prefix}.{Interlocked.Increment(ref _named)}.{Path.GetFileName(path)}");
        try
        {
            File.Move(path, aside);
        }
        catch (IOException)
        {
            // Not there (a delete of a file that never existed is no error for the engine), or not movable: delete as
            // the engine would have.
            _files.DeleteFile(path);
            return;
        }
        Interlocked.Increment(ref _setAside);
        if (!_unlinks.Writer.TryWrite(aside))
            File.Delete(aside);
    }

    private async Task UnlinkAsync()
    {
        await foreach (var path in _unlinks.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left for the next open, which unlinks what it finds here.
            }
        }
    }

    /// <summary>Unlinks what is still set aside; call once the engine is closed.</summary>
    public async ValueTask DisposeAsync()
    {
        _unlinks.Writer.TryComplete();
        await _unlinking.ConfigureAwait(false);
    }

    /// <summary>As <see cref="DisposeAsync"/>, for the log's constructor when its open fails: it cannot await.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public IFileStream CreateFileStream(string path, FileMode mode, FileAccess access, FileShare share, int bufferSize = 4096, FileOptions options = FileOptions.None)
        => _files.CreateFileStream(path, mode, access, share, bufferSize, options);

    public bool FileExists(string path) => _files.FileExists(path);

    public bool DirectoryExists(string path) => _files.DirectoryExists(path);

    public void CreateDirectory(string path) => _files.CreateDirectory(path);

    public void SyncDirectory(string path) => _files.SyncDirectory(path);

    public void DeleteDirectory(string path, bool recursive) => _files.DeleteDirectory(path, recursive);

    public string ReadAllText(string path) => _files.ReadAllText(path);

    public byte[] ReadAllBytes(string path) => _files.ReadAllBytes(path);

    public void Replace(string sourceFileName, string destinationFileName, string destinationBackupFileName)
        => _files.Replace(sourceFileName, destinationFileName, destinationBackupFileName);

    public DurableFileWriter GetDurableFileWriter() => _files.GetDurableFileWriter();

    public IReadOnlyList<string> GetDirectories(string path) => _files.GetDirectories(path);

    public IReadOnlyList<string> GetFiles(string path) => _files.GetFiles(path);

    public void MoveFile(string sourcePath, string destinationPath) => _files.MoveFile(sourcePath, destinationPath);

    public string CombinePaths(string path1, string path2) => _files.CombinePaths(path1, path2);
}
