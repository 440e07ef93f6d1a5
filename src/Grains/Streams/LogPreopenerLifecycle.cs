using Microsoft.Extensions.Logging;

namespace Platform.Grains.Streams;

/// <summary>
/// Starts the <see cref="LogPreopener"/> in the silo's first lifecycle stage if the host did not start it earlier, so
/// crashed logs recover while the rest of the silo starts, reports what it does, and closes what no grain took when
/// the silo has stopped everything else.
/// </summary>
internal sealed class LogPreopenerLifecycle(StreamStore store, ILogger<LogPreopener> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle)
        => lifecycle.Subscribe(nameof(LogPreopenerLifecycle), ServiceLifecycleStage.First, OnStartAsync, OnStopAsync);

    private Task OnStartAsync(CancellationToken cancellationToken)
    {
        store.Preopener.Start(store);
        _ = store.Preopener.ReportAsync(logger);
        return Task.CompletedTask;
    }

    private Task OnStopAsync(CancellationToken cancellationToken) => store.Preopener.StopAsync();
}
