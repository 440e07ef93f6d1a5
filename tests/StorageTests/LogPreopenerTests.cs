using System.Text;
using Microsoft.Extensions.Logging;
using Platform.Grains.Storage;
using Platform.Grains.Streams;

namespace Platform.StorageTests;

/// <summary>
/// The logs a crash left open (no saved state beside them) are opened while the silo starts, handed to the stream log
/// that asks for them, and closed again if nobody does; a log is never opened twice.
/// </summary>
public sealed class LogPreopenerTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly StreamStore _store;

    public LogPreopenerTests() => _store = new StreamStore(_directory.Path);

    public void Dispose() => _directory.Dispose();

    /// <summary>A file stream with <paramref name="messages"/> stored; a crashed one is left as a crash leaves it, with no state saved beside its log.</summary>
    private async Task<MessageLogOptions> StreamAsync(string name, int messages, bool crashed = true)
    {
        var config = new PlatformStreamConfig { Name = name, Subjects = [name + ".>"], Storage = StorageType.File };
        _store.SaveMeta(new StreamMeta(config, DateTime.UtcNow));
        var options = _store.LogOptions(config, 0);
        var log = new StreamLog(options, _store.LogBudget);
        using (var lease = await log.UseAsync())
        {
            for (int i = 0; i < messages; i++)
                lease.Log.Append(Encoding.UTF8.GetBytes(name + ".a"), default, new byte[32], 0);
        }
        await log.DisposeAsync();
        if (crashed)
            File.Delete(Path.Combine(options.Directory, StreamLog.StateFileName));
        return options;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var waited = 0; !condition(); waited += 10)
        {
            Assert.True(waited < 10_000, "timed out");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task A_crashed_log_opens_at_start_and_the_stream_log_uses_that_open()
    {
        var crashed = await StreamAsync("CRASHED", 25);
        var clean = await StreamAsync("CLEAN", 3, crashed: false);

        _store.Preopener.Start(_store);
        await WaitUntilAsync(() => OpenDescriptors.Under(crashed.Directory) > 0);

        Assert.Null(_store.Preopener.Take(clean.Directory));
        Assert.Equal(0, OpenDescriptors.Under(clean.Directory));
        var preopened = _store.Preopener.Take(crashed.Directory);
        Assert.NotNull(preopened);
        var opened = await preopened;
        Assert.Equal(25UL, opened.State.Messages);
        // Taken once: a second stream log for the same directory opens it itself.
        Assert.Null(_store.Preopener.Take(crashed.Directory));

        var log = new StreamLog(crashed, _store.LogBudget, preopened);
        using (var lease = await log.UseAsync())
        {
            Assert.Same(opened, lease.Log);
            Assert.Equal(25UL, lease.Log.State.Messages);
        }
        await log.DisposeAsync();
        Assert.NotNull(StreamLog.LoadState(crashed.Directory));
        Assert.Equal(0, OpenDescriptors.Under(crashed.Directory));
    }

    [Fact]
    public async Task A_log_a_grain_took_before_the_search_finished_is_not_opened_again()
    {
        var crashed = await StreamAsync("EARLY", 5);
        Assert.Null(_store.Preopener.Take(crashed.Directory));
        await using var own = ZoneTreeMessageLog.Open(crashed);

        _store.Preopener.Start(_store);

        Assert.Null(_store.Preopener.Take(crashed.Directory));
        Assert.Equal(5UL, own.State.Messages);
    }

    [Fact]
    public async Task What_no_stream_log_takes_is_closed_and_a_dropped_stream_closes_its_unused_open_first()
    {
        var unclaimed = await StreamAsync("UNCLAIMED", 4);
        var dropped = await StreamAsync("DROPPED", 4);
        _store.Preopener.Start(_store);
        await WaitUntilAsync(() => OpenDescriptors.Under(dropped.Directory) > 0);

        var preopened = _store.Preopener.Take(dropped.Directory);
        Assert.NotNull(preopened);
        await preopened;
        var log = new StreamLog(dropped, _store.LogBudget, preopened);
        await log.DropAsync();
        Assert.False(Directory.Exists(dropped.Directory));
        Assert.Equal(0, OpenDescriptors.Under(dropped.Directory));

        // Once the background open of the other log holds its files, stop: the log closes and can open again.
        await WaitUntilAsync(() => OpenDescriptors.Under(unclaimed.Directory) > 0);
        await _store.Preopener.StopAsync();
        Assert.Equal(0, OpenDescriptors.Under(unclaimed.Directory));
        await using var reopened = ZoneTreeMessageLog.Open(unclaimed);
        Assert.Equal(4UL, reopened.State.Messages);
    }

    /// <summary>
    /// The silo executable starts the search as soon as it holds the store's lock and Orleans' first lifecycle stage
    /// starts it again: the second start must neither search nor open anything twice, and the report still comes.
    /// </summary>
    [Fact]
    public async Task A_second_start_does_nothing_and_the_report_names_what_the_first_found()
    {
        var crashed = await StreamAsync("TWICE", 6);
        _store.Preopener.Start(_store);
        _store.Preopener.Start(_store);
        var logger = new RecordingLogger();
        await _store.Preopener.ReportAsync(logger);

        Assert.Equal(["Opening 1 stream logs that were not closed cleanly while the silo starts"], logger.Messages);
        var preopened = _store.Preopener.Take(crashed.Directory);
        Assert.NotNull(preopened);
        await using var opened = await preopened;
        Assert.Equal(6UL, opened.State.Messages);
        Assert.Null(_store.Preopener.Take(crashed.Directory));
    }

    private sealed class RecordingLogger : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId,
            TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages)
                Messages.Add(formatter(state, exception));
        }
    }
}
