using Platform.Grains.Storage;

namespace Platform.StorageTests;

/// <summary>
/// Logs freeze their memtables at their part of a shared <see cref="MemtableBudget"/> (the silo's memory_budget), not
/// only at ZoneTree's record count: a silo with many open logs, or little memory, keeps its unmerged records bounded.
/// </summary>
public sealed class MemtableBudgetTests : IDisposable
{
    private const int PayloadBytes = 1000;
    private const int Messages = 5_000;
    // One log's part, split over its memtable and the 4 frozen ones that may wait: 1 MB each, ~950 records of 1000 B.
    private const long BudgetBytes = 5L << 20;
    private const int RecordsPerMemtable = (int)(BudgetBytes / 5 / (PayloadBytes + MemtableBudget.EntryOverheadBytes));

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task A_log_freezes_its_memtable_when_it_holds_its_part_of_the_budget()
    {
        var budget = new MemtableBudget(BudgetBytes);
        await using var log = Open("a", budget);
        Assert.Equal(1, budget.Logs);
        AppendMany(log, Messages);

        Assert.InRange(log.MemtableRecordCount, 1, RecordsPerMemtable + 1);
        AssertAllThere(log);
    }

    [Fact]
    public async Task Without_a_budget_the_memtable_holds_them_all()
    {
        await using var log = Open("a", budget: null);
        AppendMany(log, Messages);

        // The metadata record of the open is in the memtable too.
        Assert.InRange(log.MemtableRecordCount, Messages, Messages + 1);
        AssertAllThere(log);
    }

    [Fact]
    public async Task Open_logs_share_the_budget_and_closing_gives_their_part_back()
    {
        var budget = new MemtableBudget(BudgetBytes);
        var first = Open("a", budget);
        var second = Open("b", budget);
        Assert.Equal(2, budget.Logs);
        Assert.Equal(BudgetBytes / 2, budget.PerLogBytes);

        AppendMany(first, Messages);
        Assert.InRange(first.MemtableRecordCount, 1, RecordsPerMemtable / 2 + 1);
        AssertAllThere(first);

        await first.DisposeAsync();
        await second.DropAsync();
        Assert.Equal(0, budget.Logs);
        Assert.Equal(BudgetBytes, budget.PerLogBytes);
    }

    private ZoneTreeMessageLog Open(string name, MemtableBudget? budget)
        => ZoneTreeMessageLog.Open(new MessageLogOptions { Directory = Path.Combine(_directory.Path, name), Memtables = budget });

    private static void AppendMany(IMessageLog log, int count)
    {
        var payload = new byte[PayloadBytes];
        for (int i = 1; i <= count; i++)
        {
            BitConverter.TryWriteBytes(payload, i);
            log.Append("s"u8, default, payload, i);
        }
    }

    private static void AssertAllThere(IMessageLog log)
    {
        Assert.Equal((ulong)Messages, log.State.Messages);
        var records = new List<LogRecord>();
        foreach (ulong sequence in new ulong[] { 1, Messages / 2, Messages })
        {
            records.Clear();
            Assert.Equal(1, log.Read(sequence, 1, 0, null, records));
            Assert.Equal((int)sequence, BitConverter.ToInt32(records[0].Payload));
        }
    }
}
