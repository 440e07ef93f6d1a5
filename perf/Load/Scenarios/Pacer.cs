namespace Platform.Load.Scenarios;

/// <summary>
/// Gives each message its intended send time. Unpaced, that is simply "now". Paced (--rate), message i is due at
/// start + i/rate whatever happened to earlier messages, and latency is measured from that due time: when the
/// server stalls, the messages that should have gone out meanwhile are charged the stall, so the percentiles do
/// not suffer from coordinated omission.
/// </summary>
internal sealed class Pacer
{
    private readonly long _start;
    private readonly double _intervalTicks;

    private Pacer(long start, double intervalTicks)
    {
        _start = start;
        _intervalTicks = intervalTicks;
    }

    public bool IsPaced => _intervalTicks > 0;

    public static Pacer Unpaced() => new(0, 0);

    /// <summary>A pacer for one of several publishers sharing a total rate.</summary>
    public static Pacer ForShare(double? totalRate, int publishers, long start) =>
        totalRate is { } rate ? new Pacer(start, Clock.FromSeconds(1) * publishers / rate) : Unpaced();

    /// <summary>Waits until message <paramref name="index"/> is due and returns its intended send time.</summary>
    public async ValueTask<long> WaitForTurnAsync(long index, CancellationToken ct)
    {
        if (!IsPaced)
            return Clock.Now;
        var due = _start + (long)(index * _intervalTicks);
        var ahead = Clock.SecondsBetween(Clock.Now, due);
        // Timers fire about a millisecond late, so sleep only for the part of the wait that is comfortably longer
        // than that and yield for the rest: yielding, not spinning, leaves the core to the server on a small machine.
        if (ahead > 0.002)
            await Task.Delay(TimeSpan.FromSeconds(ahead - 0.001), ct);
        while (Clock.Now < due)
        {
            ct.ThrowIfCancellationRequested();
            Thread.Yield();
        }
        return due;
    }
}
