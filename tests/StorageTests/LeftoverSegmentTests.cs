using System.Text;
using Platform.Grains.Storage;
using Xunit.Abstractions;

namespace Platform.StorageTests;

/// <summary>
/// A kill -9 during a merge can leave the new disk segment's part list (<c>&lt;id&gt;.multi</c>) written but not yet
/// recorded in the tree's metadata. The next open hands out that id again, and ZoneTree appends the new part list to
/// the old file instead of replacing it, so the open after that refused the whole log ("Multipart metadata envelope
/// payload length is invalid"). Seen once in CI after kill -9 (CrashTests with retention).
/// </summary>
public sealed class LeftoverSegmentTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Part_lists_a_crashed_merge_left_behind_do_not_corrupt_the_log()
    {
        const int Batch = 260_000;
        await using (var log = Open())
            AppendMany(log, 1, Batch);

        // What a merge killed after writing its part list leaves: files with the ids the next merges will be given.
        long next = HighestSegmentId() + 1;
        var planted = new List<string>();
        for (long id = next; id < next + 8; id++)
        {
            var path = Path.Combine(_directory.Path, $"{id}.multi");
            File.WriteAllBytes(path, Encoding.ASCII.GetBytes("ZoneTreeMPH-v001 a part list cut short by kill -9"));
            planted.Add(path);
        }

        await using (var log = Open())
        {
            Assert.Equal(planted.Count, log.Recovery.QuarantinedFiles);
            Assert.Equal((ulong)Batch, log.State.LastSequence);
            AppendMany(log, Batch + 1, Batch);
        }
        await using (var log = Open())
        {
            output.WriteLine($"reopened: {log.State.FirstSequence}..{log.State.LastSequence}");
            Assert.Equal(2UL * Batch, log.State.LastSequence);
            var records = new List<LogRecord>();
            Assert.Equal(1, log.Read(2UL * Batch, 1, 0, null, records));
            Assert.Equal(Payload(2 * Batch), Encoding.ASCII.GetString(records[0].Payload));
        }
        // Never deleted: set aside where an operator can look at them.
        foreach (var path in planted)
            Assert.True(File.Exists(Path.Combine(_directory.Path, "quarantine", Path.GetFileName(path))), path);
    }

    private ZoneTreeMessageLog Open() => ZoneTreeMessageLog.Open(new MessageLogOptions { Directory = _directory.Path });

    private static void AppendMany(IMessageLog log, int first, int count)
    {
        var subject = "s"u8.ToArray();
        for (int i = first; i < first + count; i++)
            log.Append(subject, default, Encoding.ASCII.GetBytes(Payload(i)), i);
    }

    private static string Payload(int i) => $"m{i}";

    private long HighestSegmentId()
    {
        long highest = 0;
        foreach (var file in Directory.EnumerateFiles(_directory.Path))
        {
            var name = Path.GetFileName(file);
            var dot = name.IndexOf('.');
            if (dot > 0 && long.TryParse(name.AsSpan(0, dot), out var id))
                highest = Math.Max(highest, id);
        }
        return highest;
    }
}
