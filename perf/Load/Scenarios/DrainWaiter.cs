namespace Platform.Load.Scenarios;

/// <summary>
/// After the publishers stop, waits for outstanding acks or deliveries: until everything arrived, nothing has
/// arrived for <c>stall</c>, <c>max</c> has passed, or the run is cancelled. Whatever is still missing then
/// counts as lost; the run never waits forever for a server that dropped messages.
/// </summary>
internal static class DrainWaiter
{
    public static async Task UntilAsync(Func<bool> complete, Func<long> progress, TimeSpan max, TimeSpan stall, CancellationToken ct)
    {
        var deadline = Clock.Now + Clock.FromSeconds(max.TotalSeconds);
        var last = progress();
        var lastChange = Clock.Now;
        while (!complete() && !ct.IsCancellationRequested)
        {
            var now = Clock.Now;
            if (now >= deadline)
                return;
            var current = progress();
            if (current != last)
                (last, lastChange) = (current, now);
            else if (Clock.SecondsBetween(lastChange, now) >= stall.TotalSeconds)
                return;
            try
            {
                await Task.Delay(5, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
