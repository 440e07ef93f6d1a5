namespace Platform.Grains.Streams;

/// <summary>
/// Calls waiting, for at most a set time, until a position that only moves forward reaches theirs: a replica's batch
/// for the end of its log (<see cref="Replication.ReplicaGrain"/>), a publisher's batch for its turn
/// (<see cref="PublisherTurns"/>). Both exist because Orleans delivers calls between two silos out of order.
/// </summary>
/// <remarks>Used on one grain's scheduler only, so it needs no lock.</remarks>
internal sealed class PositionWaiters(TimeSpan wait)
{
    private readonly List<(ulong Position, TaskCompletionSource<bool> Reached)> _waiting = [];

    public bool IsEmpty => _waiting.Count == 0;

    /// <summary>True once <see cref="Reached"/> is told <paramref name="position"/> or beyond; false when the wait ran out or was given up.</summary>
    public async Task<bool> WaitAsync(ulong position)
    {
        var reached = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting.Add((position, reached));
        try
        {
            return await reached.Task.WaitAsync(wait);
        }
        catch (TimeoutException)
        {
            return false;
        }
        finally
        {
            _waiting.Remove((position, reached));
        }
    }

    /// <summary>The position is now <paramref name="position"/>: the calls waiting for it or less go on.</summary>
    public void Reached(ulong position)
    {
        foreach (var (waited, reached) in _waiting)
            if (waited <= position)
                reached.TrySetResult(true);
    }

    /// <summary>Every waiting call is told false.</summary>
    public void GiveUp()
    {
        foreach (var (_, reached) in _waiting)
            reached.TrySetResult(false);
    }
}
