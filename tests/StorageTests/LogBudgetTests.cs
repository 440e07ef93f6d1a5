using System.Text;
using Platform.Grains.Storage;
using Platform.Grains.Streams;

namespace Platform.StorageTests;

/// <summary>
/// What an open log costs in file descriptors, measured in /proc rather than assumed, and the budget that closes idle
/// logs to keep the silo's logs within a number of descriptors.
/// </summary>
public sealed class LogBudgetTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private MessageLogOptions Options(string name, bool inMemory = false) =>
        new() { Directory = Path.Combine(_directory.Path, name), InMemory = inMemory };

    private static void Append(IMessageLog log, string subject, int count)
    {
        var payload = new byte[64];
        for (int i = 0; i < count; i++)
            log.Append(Encoding.UTF8.GetBytes(subject), default, payload, 0);
    }

    [Fact]
    public async Task Open_files_is_what_the_process_really_holds_for_a_log()
    {
        var file = Options("file");
        await using (var log = ZoneTreeMessageLog.Open(file))
        {
            Assert.Equal(3, log.OpenFiles);
            Assert.Equal(3, OpenDescriptors.Under(file.Directory));
            // Past a memtable (75k-125k records) the log writes disk parts: each is a header and a data file, kept open.
            Append(log, "big", 250_000);
        }
        await using (var log = ZoneTreeMessageLog.Open(file))
        {
            Assert.True(log.OpenFiles > 3, $"no disk part after 250k records ({log.OpenFiles} files)");
            Assert.Equal(OpenDescriptors.Under(file.Directory), log.OpenFiles);
            Assert.Equal(log.OpenFiles, ZoneTreeMessageLog.EstimateOpenFiles(file));
        }
        Assert.Equal(0, OpenDescriptors.Under(file.Directory));

        var memory = Options("memory", inMemory: true);
        await using (var log = ZoneTreeMessageLog.Open(memory))
        {
            Append(log, "m", 10);
            Assert.Equal(1, log.OpenFiles);
            Assert.Equal(1, OpenDescriptors.Under(memory.Directory));
        }
    }

    [Fact]
    public async Task Idle_logs_close_to_stay_within_the_budget_and_reopen_with_their_messages()
    {
        // Room for three small file logs (3 files each).
        var budget = new LogBudget(capacity: 9, processLimit: -1);
        var logs = new List<StreamLog>();
        for (int i = 0; i < 8; i++)
        {
            var log = new StreamLog(Options($"s{i}"), budget);
            logs.Add(log);
            using (var lease = await log.UseAsync())
                Append(lease.Log, $"s.{i}", i + 1);
            Assert.InRange(budget.OpenLogs, 1, 3);
            Assert.InRange(budget.Used, 3, 9);
            Assert.InRange(OpenDescriptors.Under(_directory.Path), 3, 9);
        }
        for (int i = 0; i < 8; i++)
        {
            // Counts are known with the log closed: the state it saved when the budget closed it.
            Assert.Equal((ulong)(i + 1), logs[i].State.Messages);
            using var lease = await logs[i].UseAsync();
            var records = new List<LogRecord>();
            lease.Log.Read(1, 100, 0, null, records);
            Assert.Equal(i + 1, records.Count);
            Assert.All(records, r => Assert.Equal($"s.{i}", r.Subject));
            Assert.InRange(OpenDescriptors.Under(_directory.Path), 3, 9);
        }
        foreach (var log in logs)
            await log.DisposeAsync();
        Assert.Equal(0, budget.OpenLogs);
        Assert.Equal(0, OpenDescriptors.Under(_directory.Path));
        // Every log saved its state on close: the next activation knows it without opening the log.
        for (int i = 0; i < 8; i++)
            Assert.Equal((ulong)(i + 1), StreamLog.LoadState(Options($"s{i}").Directory)?.Messages);
    }

    [Fact]
    public async Task A_log_in_use_is_not_closed_and_memory_logs_keep_half_of_the_budget()
    {
        var budget = new LogBudget(capacity: 6, processLimit: -1, wait: TimeSpan.FromMilliseconds(200));
        var first = new StreamLog(Options("a"), budget);
        var second = new StreamLog(Options("b"), budget);
        var third = new StreamLog(Options("c"), budget);
        using (await first.UseAsync())
        using (await second.UseAsync())
        {
            // Both open logs are leased: there is nothing to close, and the open fails rather than exceed the budget.
            await Assert.ThrowsAsync<LogBudgetExhaustedException>(async () => (await third.UseAsync()).Dispose());
            Assert.True(first.IsOpen);
            Assert.True(second.IsOpen);
        }
        using (await third.UseAsync())
            Assert.Equal(2, budget.OpenLogs);

        var memory = new List<StreamLog>();
        for (int i = 0; i < 3; i++)
        {
            var log = new StreamLog(Options($"m{i}", inMemory: true), budget);
            (await log.UseAsync()).Dispose();
            memory.Add(log);
        }
        var fourth = new StreamLog(Options("m3", inMemory: true), budget);
        await Assert.ThrowsAsync<LogBudgetExhaustedException>(async () => (await fourth.UseAsync()).Dispose());
        // The memory logs never closed; file logs still open, closing each other.
        Assert.All(memory, log => Assert.True(log.IsOpen));
        (await first.UseAsync()).Dispose();
        (await second.UseAsync()).Dispose();
        Assert.True(budget.Used <= 6);
        foreach (var log in memory.Concat([first, second, third]))
            await log.DisposeAsync();
    }

    [Fact]
    public async Task A_log_does_not_open_when_the_process_is_close_to_its_descriptor_limit()
    {
        // Whatever the budget allows, the real count decides: here the process is already within the headroom it keeps.
        var budget = new LogBudget(capacity: 1000, processLimit: FileDescriptors.CountOpen() + 32);
        var log = new StreamLog(Options("x"), budget);
        var refused = await Assert.ThrowsAsync<LogBudgetExhaustedException>(async () => (await log.UseAsync()).Dispose());
        Assert.Contains("descriptors open", refused.Message);
        Assert.False(log.IsOpen);
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public void The_default_budget_is_half_of_what_the_limit_leaves_after_the_silo_itself()
    {
        Assert.Equal(384, LogBudget.DefaultCapacity(1024));
        Assert.Equal(1920, LogBudget.DefaultCapacity(4096));
        Assert.Equal(16, LogBudget.DefaultCapacity(200));
        Assert.True(FileDescriptors.SoftLimit() > 0);
        Assert.True(FileDescriptors.CountOpen() > 0);
    }
}
