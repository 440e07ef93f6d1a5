using System.Text.Json;
using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>
/// One stream partition's log, open only while it is used: <see cref="UseAsync"/> opens it on demand (within the
/// silo's <see cref="LogBudget"/>), and the budget closes it again when another log needs the room and nobody holds
/// a lease on it. A memory log holds the messages themselves, so it stays open until the stream goes.
/// </summary>
/// <remarks>
/// <para>While closed, <see cref="State"/> is the state the log had when it closed, persisted beside it
/// (<see cref="StateFileName"/>), so stream info and the server's usage accounting never need the log. The file is
/// removed when the log opens and written when it closes: after a crash, the logs that were open have none, and
/// only those are scanned to learn their state.</para>
/// <para>Thread safety: leases are taken and returned on any thread (grain turns, the Orleans stream cache's
/// cursors); opening and closing are serialised by <see cref="_gate"/>, and a log is never closed under a lease.</para>
/// </remarks>
internal sealed class StreamLog : IAsyncDisposable
{
    public const string StateFileName = "log-state.json";
    private const long MeasureIntervalMs = 5_000;

    private readonly MessageLogOptions _options;
    private readonly LogBudget _budget;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _lock = new();
    private IMessageLog? _log;
    private int _leases;
    private LogState _closedState;
    /// <summary>Whether <see cref="_closedState"/> is known: a clean close saved it.</summary>
    private bool _hasState;
    private bool _gone;
    private long _measuredAt;
    /// <summary>The log as the silo's start opened it (<see cref="LogPreopener"/>): the first open takes it instead of opening again.</summary>
    private Task<IMessageLog>? _preopened;

    public StreamLog(MessageLogOptions options, LogBudget budget, Task<IMessageLog>? preopened = null)
    {
        _options = options;
        _budget = budget;
        _preopened = preopened;
        if (!options.InMemory && LoadState(options.Directory) is { } saved)
        {
            _closedState = saved;
            _hasState = true;
        }
    }

    /// <summary>Memory logs are never closed to make room.</summary>
    public bool Pinned => _options.InMemory;

    /// <summary>The files this log was charged for when it was opened or last measured.</summary>
    internal int Charged { get; set; }

    /// <summary>When a lease was last returned (Environment.TickCount64): the budget closes the least recently used log.</summary>
    internal long LastUsed { get; private set; }

    public bool IsOpen
    {
        get { lock (_lock) return _log is not null; }
    }

    /// <summary>Whether the log is open and in use right now, so closing it must wait.</summary>
    internal bool IsLeased
    {
        get { lock (_lock) return _leases > 0; }
    }

    /// <summary>The log's state: live while open, else as it was when it closed (default when not known).</summary>
    public LogState State
    {
        get
        {
            lock (_lock)
                return _log?.State ?? _closedState;
        }
    }

    /// <summary>The state if it is known without opening the log: the log is open, or saved its state when it closed.</summary>
    public bool TryGetState(out LogState state)
    {
        lock (_lock)
        {
            state = _log?.State ?? _closedState;
            return _log is not null || _hasState;
        }
    }

    /// <summary>The open log, for as long as the lease is held; opens it (waiting for room in the budget) if needed.</summary>
    /// <exception cref="LogBudgetExhaustedException">No room could be made for it.</exception>
    public ValueTask<Lease> UseAsync()
    {
        lock (_lock)
        {
            if (_log is not null)
            {
                _leases++;
                return ValueTask.FromResult(new Lease(this, _log));
            }
        }
        return OpenAsync();
    }

    /// <summary>A lease on the log if it is open now, without opening it (for readers that cannot wait).</summary>
    public bool TryUse(out Lease lease)
    {
        lock (_lock)
        {
            if (_log is not null && !_gone)
            {
                _leases++;
                lease = new Lease(this, _log);
                return true;
            }
        }
        lease = default;
        return false;
    }

    /// <summary>
    /// Why the log cannot be trusted: a message that fails its checksum, or files the engine cannot open; null when
    /// every message reads back as written. A primary checks its log with this when it activates, a replica when it opens.
    /// </summary>
    /// <exception cref="IOException">Another log still holds the directory, or the budget has no room: not damage.</exception>
    public async Task<string?> FindDamageAsync()
    {
        try
        {
            using var lease = await UseAsync();
            return lease.Log.FindDamage() is { } sequence ? $"message {sequence} fails its checksum" : null;
        }
        catch (Exception ex) when (ex.GetType() != typeof(IOException) && ex is not LogBudgetExhaustedException)
        {
            return $"the log does not open: {ex.Message}";
        }
    }

    private async ValueTask<Lease> OpenAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_gone, this);
                if (_log is not null)
                {
                    _leases++;
                    return new Lease(this, _log);
                }
            }
            await _budget.ReserveAsync(this, ZoneTreeMessageLog.EstimateOpenFiles(_options)).ConfigureAwait(false);
            IMessageLog log;
            try
            {
                // On the thread pool: replaying the engine's WAL and reading what changed since the last checkpoint
                // takes up to a second after a crash, which must not hold a scheduler thread (the caller's grain turn
                // just waits; nothing else runs in that grain meanwhile).
                log = await TakePreopenedAsync().ConfigureAwait(false)
                      ?? await Task.Run(() => ZoneTreeMessageLog.Open(_options)).ConfigureAwait(false);
                // From now on the saved state may fall behind the log: a crash must make the next start scan it.
                File.Delete(StatePath(_options.Directory));
            }
            catch
            {
                _budget.Release(this);
                throw;
            }
            _measuredAt = Environment.TickCount64;
            _budget.Recharge(this, log.OpenFiles);
            lock (_lock)
            {
                _log = log;
                _leases++;
                return new Lease(this, log);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The pre-opened log, once; null if there is none or it failed to open (the caller then opens it itself).</summary>
    private async Task<IMessageLog?> TakePreopenedAsync()
    {
        if (Interlocked.Exchange(ref _preopened, null) is not { } preopened)
            return null;
        try
        {
            return await preopened.ConfigureAwait(false);
        }
        catch (Exception)
        {
            return null;
        }
    }

    private void Return()
    {
        IMessageLog? measure = null;
        long now = Environment.TickCount64;
        lock (_lock)
        {
            _leases--;
            LastUsed = now;
            // A log grows a disk part per 50k-100k records: recount what it holds now and then, not on every use.
            if (_log is not null && now - _measuredAt >= MeasureIntervalMs)
            {
                _measuredAt = now;
                measure = _log;
            }
        }
        if (measure is not null)
            _budget.Recharge(this, measure.OpenFiles);
    }

    /// <summary>Closes the log if it is open and nobody uses it; the budget's way of making room. False if it could not.</summary>
    internal async Task<bool> TryCloseIdleAsync()
    {
        if (Pinned || !await _gate.WaitAsync(0).ConfigureAwait(false))
            return false;
        try
        {
            IMessageLog log;
            lock (_lock)
            {
                if (_log is null || _leases > 0)
                    return false;
                log = _log;
                _closedState = log.State;
                _log = null;
            }
            await CloseAsync(log).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task CloseAsync(IMessageLog log)
    {
        try
        {
            await log.DisposeAsync().ConfigureAwait(false);
            if (!_options.InMemory)
            {
                SaveState(_options.Directory, _closedState);
                lock (_lock)
                    _hasState = true;
            }
        }
        finally
        {
            _budget.Release(this);
        }
    }

    /// <summary>Closes the log for good (grain deactivation); the state stays on disk for the next activation.</summary>
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (await DetachAsync().ConfigureAwait(false) is { } log)
                await CloseAsync(log).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Closes the log and deletes its files (stream delete).</summary>
    public async ValueTask DropAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (await DetachAsync().ConfigureAwait(false) is { } log)
            {
                try
                {
                    await log.DropAsync().ConfigureAwait(false);
                }
                finally
                {
                    _budget.Release(this);
                }
            }
            _closedState = default;
            if (Directory.Exists(_options.Directory))
                Directory.Delete(_options.Directory, recursive: true);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Takes the log away for good once the readers that hold leases on it (stream cache cursors) are done; a
    /// pre-opened log nobody used is taken too, so it is closed (or dropped) like one that was used.
    /// </summary>
    private async Task<IMessageLog?> DetachAsync()
    {
        while (true)
        {
            lock (_lock)
            {
                _gone = true;
                if (_leases == 0)
                {
                    var log = _log;
                    _log = null;
                    if (log is null)
                        break;
                    _closedState = log.State;
                    return log;
                }
            }
            await Task.Delay(1).ConfigureAwait(false);
        }
        var unused = await TakePreopenedAsync().ConfigureAwait(false);
        if (unused is not null)
        {
            lock (_lock)
                _closedState = unused.State;
        }
        return unused;
    }

    private static string StatePath(string directory) => Path.Combine(directory, StateFileName);

    /// <summary>The state a log had when it was last closed cleanly; null if it is not known.</summary>
    public static LogState? LoadState(string directory)
    {
        var path = StatePath(directory);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), StreamStoreJson.Default.LogState) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void SaveState(string directory, LogState state)
        => AtomicFile.Write(StatePath(directory), file => JsonSerializer.Serialize(file, state, StreamStoreJson.Default.LogState));

    /// <summary>Use of the open log; dispose it to let the log close again.</summary>
    public readonly struct Lease(StreamLog owner, IMessageLog log) : IDisposable
    {
        public IMessageLog Log { get; } = log;

        public void Dispose() => owner?.Return();
    }
}
