using System.Diagnostics;

namespace Platform.Load.Reporting;

/// <summary>
/// Prints one line a second to stderr while a run is going, so a long or stuck run is visible as it happens and
/// stdout keeps only the final table.
/// </summary>
internal sealed class ProgressReporter : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <param name="sent">Counters whose Sent is shown.</param>
    /// <param name="done">Counters whose Done and Errors are shown: the same as <paramref name="sent"/> except where
    /// publishing and consuming are counted apart (js-pubsub).</param>
    public ProgressReporter(string phase, LiveCounters sent, LiveCounters done, bool quiet)
    {
        _loop = quiet ? Task.CompletedTask : RunAsync(phase, sent, done, _stop.Token);
    }

    private static async Task RunAsync(string phase, LiveCounters sentCounters, LiveCounters counters, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        long lastSent = 0, lastDone = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                long sent = sentCounters.Sent, done = counters.Done;
                Console.Error.WriteLine(
                    $"[{phase} {watch.Elapsed.TotalSeconds,5:F0}s] sent {sent,12:N0} ({sent - lastSent,10:N0}/s)  " +
                    $"done {done,12:N0} ({done - lastDone,10:N0}/s)  errors {counters.Errors:N0}");
                (lastSent, lastDone) = (sent, done);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
