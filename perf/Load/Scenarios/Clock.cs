using System.Diagnostics;

namespace Platform.Load.Scenarios;

/// <summary>
/// Monotonic time in Stopwatch ticks. Send and receive happen in this one process, so a tick taken at send time
/// can travel inside the payload and be compared on receipt without any clock synchronisation.
/// </summary>
internal static class Clock
{
    private static readonly double NanosPerTick = 1e9 / Stopwatch.Frequency;

    public static long Now => Stopwatch.GetTimestamp();

    public static long ToNanos(long ticks) => (long)(ticks * NanosPerTick);

    public static long FromSeconds(double seconds) => (long)(seconds * Stopwatch.Frequency);

    public static double SecondsBetween(long from, long to) => (to - from) / (double)Stopwatch.Frequency;
}
