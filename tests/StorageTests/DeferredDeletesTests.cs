using Platform.Grains.Storage;

namespace Platform.StorageTests;

/// <summary>
/// The engine's deletes leave its directories at once and the disk soon after, outside the engine's locks
/// (<see cref="DeferredDeletes"/>).
/// </summary>
public sealed class DeferredDeletesTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string AsideDirectory => Path.Combine(_directory.Path, DeferredDeletes.DirectoryName);

    [Fact]
    public async Task A_deleted_file_leaves_its_directory_at_once_and_the_disk_soon_after()
    {
        var path = Path.Combine(_directory.Path, "00000000000000000001.wal");
        File.WriteAllBytes(path, new byte[1 << 20]);
        using var deletes = new DeferredDeletes(_directory.Path);

        deletes.DeleteFile(path);

        Assert.False(File.Exists(path));
        Assert.Equal(1, deletes.SetAside);
        await UntilEmpty(AsideDirectory);
    }

    [Fact]
    public void A_delete_of_a_file_that_is_not_there_is_no_error()
    {
        using var deletes = new DeferredDeletes(_directory.Path);

        deletes.DeleteFile(Path.Combine(_directory.Path, "missing.wal"));

        Assert.Equal(0, deletes.SetAside);
    }

    [Fact]
    public void Closing_unlinks_everything_still_set_aside()
    {
        var deletes = new DeferredDeletes(_directory.Path);
        for (int i = 0; i < 50; i++)
        {
            var path = Path.Combine(_directory.Path, $"{i}.wal");
            File.WriteAllBytes(path, new byte[64 << 10]);
            deletes.DeleteFile(path);
        }

        deletes.Dispose();

        Assert.Empty(Directory.EnumerateFiles(AsideDirectory));
        Assert.Empty(Directory.EnumerateFiles(_directory.Path));
    }

    [Fact]
    public async Task Files_a_crash_left_set_aside_are_unlinked_by_the_next_open()
    {
        Directory.CreateDirectory(AsideDirectory);
        File.WriteAllBytes(Path.Combine(AsideDirectory, "0badcafe.1.00000000000000000003.wal"), new byte[4096]);

        using var deletes = new DeferredDeletes(_directory.Path);

        await UntilEmpty(AsideDirectory);
    }

    [Fact]
    public async Task A_log_hands_the_WAL_chunks_its_merges_free_to_the_background_and_keeps_none()
    {
        // Enough to fill more than one 16 MB WAL chunk and merge it away.
        var payload = new byte[300];
        long setAside;
        await using (var log = ZoneTreeMessageLog.Open(new MessageLogOptions { Directory = _directory.Path }))
        {
            for (int i = 0; i < 150_000; i++)
            {
                await log.WaitForCapacityAsync();
                log.Append("chunks"u8, default, payload, i);
            }
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (log.FilesSetAside == 0 && DateTime.UtcNow < deadline)
                await Task.Delay(50);
            setAside = log.FilesSetAside;
        }

        Assert.True(setAside > 0, "no file the engine deleted went through DeferredDeletes");
        Assert.Empty(Directory.EnumerateFiles(AsideDirectory));
    }

    private static async Task UntilEmpty(string directory)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Directory.EnumerateFiles(directory).Any())
        {
            if (DateTime.UtcNow >= deadline)
                Assert.Fail($"still set aside: {string.Join(", ", Directory.EnumerateFiles(directory))}");
            await Task.Delay(20);
        }
    }
}
