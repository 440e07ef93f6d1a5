namespace Platform.Grains.Storage;

/// <summary>
/// Group commit: every caller waits for one sync that started after its writes, and all callers waiting at the same
/// time share that sync. A sync costs 0.25–0.5 ms of fsync on the target machines, so one per message would cap a
/// log at a few thousand messages per second; shared, the cost is spread over everything written meanwhile.
/// </summary>
internal sealed class GroupCommit
{
    private readonly Func<Task> _sync;
    private readonly Lock _gate = new();
    private long _written;
    private long _synced;
    private Task? _inFlight;

    public GroupCommit(Func<Task> sync) => _sync = sync;

    /// <summary>Call after each write has been handed to the engine, so that later syncs know to cover it.</summary>
    public void MarkWritten() => Interlocked.Increment(ref _written);

    public ValueTask CommitAsync()
    {
        long target = Volatile.Read(ref _written);
        return Volatile.Read(ref _synced) >= target ? ValueTask.CompletedTask : WaitForAsync(target);
    }

    private async ValueTask WaitForAsync(long target)
    {
        while (true)
        {
            Task sync;
            lock (_gate)
            {
                if (_synced >= target)
                    return;
                // A sync already running may have started before this caller's writes; then the loop joins the next one.
                sync = _inFlight ??= Task.Run(SyncOnceAsync);
            }
            await sync.ConfigureAwait(false);
        }
    }

    private async Task SyncOnceAsync()
    {
        // Read before the sync starts: only writes that returned by now are certainly covered by it.
        long covered = Volatile.Read(ref _written);
        try
        {
            await _sync().ConfigureAwait(false);
            lock (_gate)
            {
                if (covered > _synced)
                    _synced = covered;
            }
        }
        finally
        {
            lock (_gate)
                _inFlight = null;
        }
    }
}
