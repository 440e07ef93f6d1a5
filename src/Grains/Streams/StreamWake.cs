using Microsoft.Extensions.Logging;

namespace Platform.Grains.Streams;

/// <summary>
/// Activates a stream's grain with no call of its own to make: a stream grain works uncalled (a primary catches up its
/// replicas, a mirror or source copies, messages expire by age, push consumers are started), so the next call may never
/// come to a quiet stream. Used for a newly promoted primary and for a grain Orleans deactivated for a lost directory
/// entry.
/// </summary>
internal static class StreamWake
{
    private const int Attempts = 10;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Calls the grain until it answers, up to <see cref="Attempts"/> times a second apart; a warning names <paramref name="what"/> if it never does.</summary>
    public static async Task WakeAsync(IGrainFactory grains, string key, string what, ILogger logger)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await grains.GetGrain<IStreamGrain>(key).ConsumerNames();
                return;
            }
            catch (Exception ex) when (attempt < Attempts)
            {
                logger.LogDebug("Stream {Stream}: {What} did not start yet: {Reason}", key, what, ex.Message);
                await Task.Delay(RetryDelay);
            }
            catch (Exception ex)
            {
                logger.LogWarning("Stream {Stream}: {What} did not start; the next call for it starts it: {Reason}", key, what, ex.Message);
                return;
            }
        }
    }
}
