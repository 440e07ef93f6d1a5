using Platform.Grains.Storage;
using Xunit.Abstractions;

namespace Platform.StorageTests;

/// <summary>
/// Recovery from a checkpoint, its removal journal and the messages after it must give exactly the state a scan of
/// every message gives (<see cref="LogView"/> compares counts, bytes, bounds, deleted sequences and per-subject
/// state), and must read only what changed since the checkpoint.
/// </summary>
public sealed class RecoveryTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    /// <summary>
    /// Random appends, deletes, retention, filtered and keep purges with a checkpoint every 2,000 changes, written in
    /// the background while removals go on, SIGKILLed at random moments (before, during and after checkpoint writes
    /// and removals), several rounds on the same log.
    /// </summary>
    [Fact]
    public async Task State_recovered_after_kill_9_equals_a_full_scan()
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        int fromCheckpoint = 0, withJournal = 0;
        const int Rounds = 6;
        for (int round = 1; round <= Rounds; round++)
        {
            long ops = 0;
            await CrashWriter.RunAndKillAsync([_directory.Path, "--ops", random.Next().ToString()],
                line => line.StartsWith("ops ", StringComparison.Ordinal), TimeSpan.FromMilliseconds(random.Next(50, 600)),
                line =>
                {
                    if (line.StartsWith("ops ", StringComparison.Ordinal))
                        ops = long.Parse(line.AsSpan(4));
                });

            var (recovered, recovery) = await OpenAsync();
            var scanned = await OpenAsync(withoutCheckpoint: true);
            output.WriteLine($"round {round}: {ops}+ ops, {recovered.State.Messages} messages, {recovered.State.NumDeleted} deleted; {recovery}");
            Assert.False(scanned.Recovery.FromCheckpoint);
            Assert.Equal(scanned.View.Text, recovered.Text);
            if (recovery.FromCheckpoint)
                fromCheckpoint++;
            if (recovery.JournalEntries > 0)
                withJournal++;
        }
        // A kill during a checkpoint write with removals after its snapshot is the one case that scans in full.
        Assert.True(fromCheckpoint >= 2, $"only {fromCheckpoint} of {Rounds} opens used the checkpoint");
        Assert.True(withJournal > 0, "no open applied journaled removals");
    }

    /// <summary>
    /// A checkpoint includes the removals before its snapshot; recovery must not subtract them again from it, while
    /// still applying those after it (which are relative to the newer checkpoint's last sequence).
    /// </summary>
    [Fact]
    public async Task Removals_a_newer_checkpoint_includes_are_not_applied_twice()
    {
        await KillAfterScenarioAsync("two-checkpoints");
        var recovery = await RecoverAsFullScanWouldAsync(fromCheckpoint: true);
        Assert.True(recovery.JournalEntries > 0, recovery.ToString());
        Assert.Equal(50UL, recovery.RecordsScanned);
    }

    /// <summary>
    /// A crash while a checkpoint is being written leaves the previous file, while removals after the new snapshot
    /// were journaled against the new one: recovery must notice and scan everything rather than mix the two.
    /// </summary>
    [Fact]
    public async Task A_checkpoint_that_never_reached_the_disk_makes_the_open_scan_in_full()
    {
        await KillAfterScenarioAsync("lost-checkpoint");
        await RecoverAsFullScanWouldAsync(fromCheckpoint: false);
    }

    /// <summary>
    /// A crash in the middle of a removal, after its journal entry but before the metadata write that counts it: a
    /// delete is finished (whether or not its tree delete was written), a range removal had not happened yet.
    /// </summary>
    [Theory]
    [InlineData("interrupted-delete")]
    [InlineData("interrupted-delete-before-its-write")]
    [InlineData("interrupted-range")]
    public async Task A_removal_the_crash_interrupted_is_recovered_from_the_checkpoint(string scenario)
    {
        await KillAfterScenarioAsync(scenario);
        var recovery = await RecoverAsFullScanWouldAsync(fromCheckpoint: true);
        Assert.True(recovery.JournalEntries > 0, recovery.ToString());
    }

    /// <summary>
    /// An atomic batch is all or nothing across kill -9: the writer dies holding a batch of 10 with 6 appended, and the
    /// log reopens without any of them, its sequences free again (none was acknowledged); a batch that ended is kept.
    /// </summary>
    [Theory]
    [InlineData("interrupted-batch", 320UL)]
    [InlineData("completed-batch", 335UL)]
    public async Task An_atomic_batch_survives_kill_9_whole_or_not_at_all(string scenario, ulong last)
    {
        await KillAfterScenarioAsync(scenario);
        var (recovered, recovery) = await OpenAsync();
        Assert.True(recovery.FromCheckpoint, recovery.ToString());
        Assert.Equal(last, recovered.State.LastSequence);
        Assert.Equal(last, recovered.State.Messages);
        Assert.Equal(0, recovered.State.NumDeleted);
        var scanned = await OpenAsync(withoutCheckpoint: true);
        Assert.Equal(scanned.View.Text, recovered.Text);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("flipped")]
    [InlineData("empty")]
    public async Task A_corrupt_checkpoint_is_ignored_and_the_log_scanned(string damage)
    {
        await KillAfterScenarioAsync("checkpoint-then-removals");
        string path = RecoveryCheckpoint.PathIn(_directory.Path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, damage switch
        {
            "truncated" => bytes[..(bytes.Length / 2)],
            "flipped" => Flip(bytes, bytes.Length / 3),
            _ => [],
        });
        await RecoverAsFullScanWouldAsync(fromCheckpoint: false);

        static byte[] Flip(byte[] bytes, int at)
        {
            bytes[at] ^= 0x40;
            return bytes;
        }
    }

    /// <summary>
    /// The point of checkpoints: after kill -9 of a log of over 300k messages, the open reads only what was appended
    /// after the newest checkpoint (about one checkpoint interval, 100k by default, two if the newest is still being
    /// written), not the whole log.
    /// </summary>
    [Fact]
    public async Task Opening_a_large_log_after_kill_9_reads_only_the_tail()
    {
        const ulong Large = 320_000;
        ulong acked = 0;
        await CrashWriter.RunAndKillAsync([_directory.Path],
            line => line.StartsWith("acked ", StringComparison.Ordinal) && ulong.Parse(line.AsSpan(6)) >= Large, TimeSpan.Zero,
            line =>
            {
                if (line.StartsWith("acked ", StringComparison.Ordinal))
                    acked = ulong.Parse(line.AsSpan(6));
            });
        var (recovered, recovery) = await OpenAsync();
        output.WriteLine($"acked {acked}, recovered {recovered.State.LastSequence}: {recovery}");
        Assert.True(recovered.State.LastSequence >= acked);
        Assert.True(recovery.FromCheckpoint, recovery.ToString());
        Assert.True(recovery.RecordsScanned <= 200_000, $"read {recovery.RecordsScanned} of {recovered.State.Messages} messages");
        var scanned = await OpenAsync(withoutCheckpoint: true);
        Assert.Equal(recovered.State.Messages, scanned.Recovery.RecordsScanned);
        Assert.Equal(scanned.View.Text, recovered.Text);
    }

    // ---- helpers ----

    /// <summary>Runs one of the crash writer's Scenarios and SIGKILLs it once it is through.</summary>
    private Task KillAfterScenarioAsync(string name) =>
        CrashWriter.RunAndKillAsync([_directory.Path, "--scenario", name], line => line == "done", TimeSpan.Zero, _ => { });

    /// <summary>Opens the log as it is, then again without its checkpoint: both must tell the same state.</summary>
    private async Task<LogRecovery> RecoverAsFullScanWouldAsync(bool fromCheckpoint)
    {
        var (recovered, recovery) = await OpenAsync();
        Assert.True(recovery.FromCheckpoint == fromCheckpoint, recovery.ToString());
        var scanned = await OpenAsync(withoutCheckpoint: true);
        Assert.Equal(scanned.View.Text, recovered.Text);
        return recovery;
    }

    private async Task<(LogView View, LogRecovery Recovery)> OpenAsync(bool withoutCheckpoint = false)
    {
        if (withoutCheckpoint)
            File.Delete(RecoveryCheckpoint.PathIn(_directory.Path));
        await using var log = ZoneTreeMessageLog.Open(new MessageLogOptions { Directory = _directory.Path });
        return (LogView.Of(log), log.Recovery);
    }
}
