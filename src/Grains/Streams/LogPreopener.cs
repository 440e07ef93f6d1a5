using Microsoft.Extensions.Logging;
using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>
/// Opens, as the silo starts, the logs a crash left open, so that their recovery runs beside Orleans' own start
/// instead of after it: the first publish to such a stream then finds its log open. A clean stop leaves nothing here
/// to do (every log saved its state), and a stream grain that activates takes its log over (<see cref="Take"/>).
/// </summary>
/// <remarks>
/// Opening a log after a crash costs about a second on the 2-core CI machine (the engine's open, most of it one-time
/// JIT, while Orleans starts on the same cores; perf/recovery/RESULTS.md), which the first ack used to wait for after
/// the silo accepted connections. Logs open one at a time, most recently written first, at most
/// <see cref="MaxLogs"/> of them: their descriptors are charged to the <see cref="LogBudget"/> only when a grain takes
/// them, so the number left uncharged meanwhile stays small. What no grain takes within <see cref="Unclaimed"/> (a
/// stream whose home is now another node, a silo that serves no client) is closed again.
/// </remarks>
internal sealed class LogPreopener
{
    private const int MaxLogs = 16;
    private static readonly TimeSpan Unclaimed = TimeSpan.FromSeconds(60);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly List<Entry> _order = [];
    // Logs grains took before the search for crashed ones finished: those grains open them themselves.
    private HashSet<string>? _claimedEarly = new(StringComparer.Ordinal);
    private bool _stopped;
    private int _begun;
    private readonly TaskCompletionSource<int> _found = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Entry(MessageLogOptions options)
    {
        public readonly MessageLogOptions Options = options;
        public readonly TaskCompletionSource<IMessageLog> Opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool Started;
        public bool Taken;
    }

    /// <summary>
    /// Finds, on the thread pool, the file logs of <paramref name="store"/> that saved no state (open at a crash) and
    /// opens them one after another. Only the first call does anything: the silo executable calls it as soon as it
    /// holds the store's lock, before it builds its host, and the lifecycle stage calls it for every other host.
    /// </summary>
    public void Start(StreamStore store)
    {
        if (Interlocked.Exchange(ref _begun, 1) == 1)
            return;
        _ = Task.Run(async () =>
        {
            try
            {
                Find(store);
                _found.SetResult(_order.Count);
            }
            catch (Exception ex)
            {
                _found.SetException(ex);
                return;
            }
            await OpenAllAsync().ConfigureAwait(false);
        });
    }

    /// <summary>Logs what the start found, and each log that failed to open, once a logger exists.</summary>
    public async Task ReportAsync(ILogger logger)
    {
        try
        {
            if (await _found.Task.ConfigureAwait(false) == 0)
                return;
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not look for logs to open at start; they open when first used");
            return;
        }
        logger.LogInformation("Opening {Count} stream logs that were not closed cleanly while the silo starts", _order.Count);
        foreach (var entry in _order)
        {
            try
            {
                await entry.Opened.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Taken before its turn: its grain opened it.
            }
            catch (Exception ex)
            {
                logger.LogWarning("Could not open the log in {Directory} at start: {Reason}", entry.Options.Directory, ex.Message);
            }
        }
    }

    private void Find(StreamStore store)
    {
        var found = new List<(DateTime Written, MessageLogOptions Options)>();
        foreach (var meta in store.LoadAll())
        {
            if (meta.Config.Storage != StorageType.File)
                continue;
            for (int p = 0; p < StreamKeys.Count(meta.Config); p++)
            {
                var options = store.LogOptions(meta.Config, p);
                if (Directory.Exists(options.Directory) && StreamLog.LoadState(options.Directory) is null)
                    found.Add((Directory.GetLastWriteTimeUtc(options.Directory), options));
            }
        }
        found.Sort((a, b) => b.Written.CompareTo(a.Written));
        lock (_lock)
        {
            foreach (var (_, options) in found)
            {
                if (_order.Count == MaxLogs)
                    break;
                if (_claimedEarly!.Contains(options.Directory))
                    continue;
                var entry = new Entry(options);
                _entries[options.Directory] = entry;
                _order.Add(entry);
            }
            _claimedEarly = null;
        }
    }

    /// <summary>
    /// The log of <paramref name="directory"/> if it is being or was opened here, now the caller's to own; null if it
    /// is not (or its turn had not come yet: then the caller's own open is as quick).
    /// </summary>
    public Task<IMessageLog>? Take(string directory)
    {
        lock (_lock)
        {
            _claimedEarly?.Add(directory);
            if (!_entries.Remove(directory, out var entry))
                return null;
            entry.Taken = true;
            return entry.Started ? entry.Opened.Task : null;
        }
    }

    /// <summary>Closes what no grain took.</summary>
    public async Task StopAsync()
    {
        List<Entry> left;
        lock (_lock)
        {
            _stopped = true;
            left = [.. _entries.Values];
            _entries.Clear();
        }
        foreach (var entry in left)
            await CloseAsync(entry).ConfigureAwait(false);
    }

    private async Task OpenAllAsync()
    {
        if (_order.Count == 0)
            return;
        foreach (var entry in _order)
        {
            lock (_lock)
            {
                if (entry.Taken || _stopped)
                {
                    entry.Opened.TrySetCanceled();
                    continue;
                }
                entry.Started = true;
            }
            try
            {
                entry.Opened.SetResult(ZoneTreeMessageLog.Open(entry.Options));
            }
            catch (Exception ex)
            {
                // The grain that takes it sees the same failure its own open would have had; ReportAsync logs it.
                entry.Opened.SetException(ex);
            }
        }
        await Task.Delay(Unclaimed).ConfigureAwait(false);
        await StopAsync().ConfigureAwait(false);
    }

    private static async Task CloseAsync(Entry entry)
    {
        if (!entry.Started)
            return;
        try
        {
            await (await entry.Opened.Task.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // It did not open, so there is nothing to close.
        }
    }
}
