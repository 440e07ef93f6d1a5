using Microsoft.Extensions.Logging;

namespace Platform.Grains.Streams;

/// <summary>
/// Starts the <see cref="LogPreopener"/> in the silo's first lifecycle stage, so crashed logs recover while the rest
/// of the silo starts, and closes what no grain took when the silo has stopped everything else.
/// </summary>
internal sealed class LogPreopenerLifecycle(StreamStore store, ILogger<LogPreopener> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle)
        => lifecycle.Subscribe(nameof(LogPreopenerLifecycle), ServiceLifecycleStage.First, OnStartAsync, OnStopAsync);

    private Task OnStartAsync(CancellationToken cancellationToken)
    {
        // Finding the logs reads every stream's metadata: not in the way of the start either.
        _ = Task.Run(() =>
        {
            try
            {
                store.Preopener.Start(store, logger);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Could not look for logs to open at start; they open when first used");
            }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    private Task OnStopAsync(CancellationToken cancellationToken) => store.Preopener.StopAsync();
}
