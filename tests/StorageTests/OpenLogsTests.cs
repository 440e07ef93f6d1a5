using System.Text;
using Platform.Grains.Storage;
using Platform.Grains.Streams;

namespace Platform.StorageTests;

/// <summary>
/// Consumer grains read their stream's open log through <see cref="OpenLogs"/> instead of calling the stream grain: the
/// answer must be the one the grain gives, held to what readers may see of a replicated stream.
/// </summary>
public sealed class OpenLogsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private StreamLog NewLog(string name) =>
        new(new MessageLogOptions { Directory = Path.Combine(_directory.Path, name) }, new LogBudget(capacity: 0, processLimit: -1));

    private static void Append(IMessageLog log, params string[] subjects)
    {
        foreach (var subject in subjects)
            log.Append(Encoding.UTF8.GetBytes(subject), default, "x"u8, 0);
    }

    private static List<ulong> Sequences(StreamRead read)
    {
        var sequences = new List<ulong>();
        int offset = 0;
        for (int i = 0; i < read.Count; i++)
        {
            StreamRead.ReadFrame(read.Frames, ref offset, out var sequence, out _);
            sequences.Add(sequence);
        }
        return sequences;
    }

    [Fact]
    public async Task A_consumers_read_stops_where_readers_may_see_and_counts_pending_up_to_there()
    {
        var logs = new OpenLogs();
        await using var log = NewLog("r3");
        using (var lease = await log.UseAsync())
            Append(lease.Log, "a", "b", "a", "b", "a", "b");
        ulong committed = 4;
        logs.Register("r3", log, last => Math.Min(last, committed));

        var read = logs.TryReadForConsumer("r3", 1, 10, 0, [])!;
        Assert.Equal([1UL, 2, 3, 4], Sequences(read));
        Assert.Equal(4UL, read.LastSequence);
        Assert.Equal(5UL, read.NextSequence);
        Assert.Equal(0UL, read.Pending);

        var filtered = logs.TryReadForConsumer("r3", 1, 1, 0, ["a"])!;
        Assert.Equal([1UL], Sequences(filtered));
        Assert.Equal(1UL, filtered.Pending); // 3; 5 is not committed

        committed = 6;
        var rest = logs.TryReadForConsumer("r3", 5, 10, 0, [])!;
        Assert.Equal([5UL, 6], Sequences(rest));
        Assert.Equal(7UL, rest.NextSequence);
    }

    [Fact]
    public async Task A_log_that_is_not_open_or_no_longer_registered_is_not_read()
    {
        var logs = new OpenLogs();
        await using var closed = NewLog("closed");
        logs.Register("closed", closed, last => last);
        Assert.Null(logs.TryReadForConsumer("closed", 1, 10, 0, []));

        await using var old = NewLog("old");
        await using var replacement = NewLog("new");
        using (var lease = await replacement.UseAsync())
            Append(lease.Log, "n");
        logs.Register("s", old, last => last);
        logs.Register("s", replacement, last => last);
        // The grain that had the old log unregisters it after its successor registered: the successor stays.
        logs.Unregister("s", old);
        Assert.Equal([1UL], Sequences(logs.TryReadForConsumer("s", 1, 10, 0, [])!));
        logs.Unregister("s", replacement);
        Assert.Null(logs.TryReadForConsumer("s", 1, 10, 0, []));
    }
}
