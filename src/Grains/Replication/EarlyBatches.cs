namespace Platform.Grains.Replication;

/// <summary>
/// A replica's batches that came before the batch they follow. The primary sends its batches in order without waiting
/// for answers, but Orleans does not keep calls in order: between two silos it sends each call over either of their two
/// connections, and a 3-silo R3 run at 29.5k msgs/s saw hundreds of batches a second overtake the one before. Refusing
/// such a batch costs the primary a round one at a time with every ack waiting; waiting here for its predecessor costs
/// a few milliseconds at most.
/// </summary>
/// <remarks>Used on the replica grain's scheduler only, so it needs no lock.</remarks>
internal sealed class EarlyBatches
{
    /// <summary>
    /// How long a batch waits for the one before it. A predecessor that is only overtaken arrives within milliseconds;
    /// one that does not come was lost or belongs to a primary that is gone, and the batch is refused as before. Well
    /// under the primary's 5 s call timeout.
    /// </summary>
    internal static readonly TimeSpan Wait = TimeSpan.FromMilliseconds(500);

    private readonly List<(ulong After, TaskCompletionSource<bool> Ready)> _waiting = [];

    /// <summary>
    /// Waits until the log reaches <paramref name="previousLast"/>: true when it did (check again), false when the wait
    /// ran out or was given up (refuse the batch).
    /// </summary>
    public async Task<bool> WaitAsync(ulong previousLast)
    {
        var ready = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting.Add((previousLast, ready));
        try
        {
            return await ready.Task.WaitAsync(Wait);
        }
        catch (TimeoutException)
        {
            return false;
        }
        finally
        {
            _waiting.Remove((previousLast, ready));
        }
    }

    /// <summary>The log now ends at <paramref name="last"/>: the batches that follow it go on.</summary>
    public void Reached(ulong last)
    {
        foreach (var (after, ready) in _waiting)
            if (after <= last)
                ready.TrySetResult(true);
    }

    /// <summary>The log is closing or a newer epoch came: every waiting batch is refused.</summary>
    public void GiveUp()
    {
        foreach (var (_, ready) in _waiting)
            ready.TrySetResult(false);
    }
}
