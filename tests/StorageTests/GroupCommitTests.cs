using Platform.Grains.Storage;

namespace Platform.StorageTests;

public class GroupCommitTests
{
    [Fact]
    public async Task Nothing_written_needs_no_sync()
    {
        int syncs = 0;
        var commit = new GroupCommit(() => { syncs++; return Task.CompletedTask; });
        await commit.CommitAsync();
        Assert.Equal(0, syncs);
    }

    [Fact]
    public async Task Concurrent_callers_share_syncs()
    {
        int syncs = 0;
        var commit = new GroupCommit(async () =>
        {
            Interlocked.Increment(ref syncs);
            await Task.Delay(20);
        });
        var callers = new Task[100];
        for (int i = 0; i < callers.Length; i++)
        {
            callers[i] = Task.Run(async () =>
            {
                commit.MarkWritten();
                await commit.CommitAsync();
            });
        }
        await Task.WhenAll(callers);
        Assert.InRange(syncs, 1, 10);
        await commit.CommitAsync();
        Assert.InRange(syncs, 1, 10);
    }

    [Fact]
    public async Task A_write_made_during_a_sync_waits_for_the_next_one()
    {
        var gates = new List<TaskCompletionSource>();
        var commit = new GroupCommit(() =>
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (gates)
                gates.Add(gate);
            return gate.Task;
        });

        commit.MarkWritten();
        var first = commit.CommitAsync().AsTask();
        await WaitUntil(() => Count(gates) == 1);

        commit.MarkWritten();
        var second = commit.CommitAsync().AsTask();
        Gate(gates, 0).SetResult();
        await first;
        Assert.False(second.IsCompleted);

        await WaitUntil(() => Count(gates) == 2);
        Assert.False(second.IsCompleted);
        Gate(gates, 1).SetResult();
        await second;
    }

    [Fact]
    public async Task A_failed_sync_fails_its_callers_and_the_next_commit_tries_again()
    {
        int attempt = 0;
        var commit = new GroupCommit(() => ++attempt == 1 ? Task.FromException(new IOException("disk")) : Task.CompletedTask);
        commit.MarkWritten();
        await Assert.ThrowsAsync<IOException>(async () => await commit.CommitAsync());
        await commit.CommitAsync();
        Assert.Equal(2, attempt);
    }

    private static int Count(List<TaskCompletionSource> gates)
    {
        lock (gates)
            return gates.Count;
    }

    private static TaskCompletionSource Gate(List<TaskCompletionSource> gates, int index)
    {
        lock (gates)
            return gates[index];
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(1);
        }
    }
}
