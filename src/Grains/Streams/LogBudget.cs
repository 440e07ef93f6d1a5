using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>
/// Bounds the file descriptors the stream logs of this silo hold open. A log is charged what it really holds
/// (<see cref="IMessageLog.OpenFiles"/>: 3 for a small file log, 2 more per disk part); when a log must open and the
/// budget is spent, the least recently used log that nobody is using is closed to make room. Memory logs cannot be
/// closed without losing their messages, so they stay charged for as long as their stream exists, and may take at
/// most half of the budget: file logs always keep room to open.
/// </summary>
/// <remarks>
/// Besides its own count, the budget checks the process's real descriptor count against the limit before every
/// open, so client connections and everything else the process opens are accounted for too: a log that cannot open
/// is an error for that one request (<see cref="LogBudgetExhaustedException"/>), never a process that runs out.
/// </remarks>
internal sealed class LogBudget
{
    /// <summary>The descriptors a silo needs besides its logs: ~250 at rest (the runtime holds its assemblies open), listeners, monitoring.</summary>
    private const int BaseReserve = 256;
    private const int MinimumCapacity = 16;
    private const int UnlimitedCapacity = 1 << 20;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(10);

    private readonly Lock _lock = new();
    private readonly HashSet<StreamLog> _open = [];
    private readonly long _processLimit;
    private readonly int _headroom;
    private readonly TimeSpan _wait;
    private int _used;
    private int _pinned;

    /// <param name="capacity">Files all logs together may hold open; 0 or less: from the process's limit (<see cref="DefaultCapacity"/>).</param>
    /// <param name="processLimit">The process's descriptor limit; -1 (unknown) skips the check of the real count.</param>
    /// <param name="wait">How long an open waits for logs in use to become closable before it fails.</param>
    public LogBudget(int capacity, long processLimit, TimeSpan? wait = null)
    {
        _processLimit = processLimit;
        Capacity = capacity > 0 ? capacity : DefaultCapacity(processLimit);
        // Room kept free for what opens briefly: merges writing new parts, accepted connections, temporary files.
        _headroom = processLimit < 0 ? 0 : (int)Math.Max(64, processLimit / 16);
        // Leases last one grain call, but closing a log takes ~10 ms idle and far longer on a loaded machine.
        _wait = wait ?? TimeSpan.FromSeconds(10);
    }

    /// <summary>Half of what the process may open beyond what the silo itself needs; the other half is for connections and merges.</summary>
    public static int DefaultCapacity(long processLimit)
        => processLimit < 0 ? UnlimitedCapacity : (int)Math.Clamp((processLimit - BaseReserve) / 2, MinimumCapacity, UnlimitedCapacity);

    public int Capacity { get; }

    /// <summary>Files the open logs hold, as last measured.</summary>
    public int Used
    {
        get { lock (_lock) return _used; }
    }

    public int OpenLogs
    {
        get { lock (_lock) return _open.Count; }
    }

    /// <summary>Charges <paramref name="files"/> for <paramref name="log"/>, closing idle logs as needed to make room.</summary>
    /// <exception cref="LogBudgetExhaustedException">Every open log is pinned or stayed in use for the whole wait.</exception>
    public async ValueTask ReserveAsync(StreamLog log, int files)
    {
        long deadline = Environment.TickCount64 + (long)_wait.TotalMilliseconds;
        while (true)
        {
            bool processHasRoom = ProcessHasRoom(files);
            StreamLog? victim = null;
            bool busy = false;
            lock (_lock)
            {
                if (log.Pinned && _pinned + files > Capacity / 2)
                    throw new LogBudgetExhaustedException($"memory stream logs already hold {_pinned} of the {Capacity / 2} files they may");
                if (processHasRoom && _used + files <= Capacity)
                {
                    _used += files;
                    if (log.Pinned)
                        _pinned += files;
                    log.Charged = files;
                    _open.Add(log);
                    return;
                }
                foreach (var open in _open)
                {
                    if (open.Pinned)
                        continue;
                    // Leased, or being closed by another open (it is charged until the close completes): wait for it.
                    if (open.IsLeased || !open.IsOpen)
                        busy = true;
                    else if (victim is null || open.LastUsed < victim.LastUsed)
                        victim = open;
                }
            }
            if (victim is not null)
            {
                if (await victim.TryCloseIdleAsync().ConfigureAwait(false))
                    continue;
                busy = true;
            }
            if (!busy || Environment.TickCount64 >= deadline)
                throw new LogBudgetExhaustedException(Describe(files));
            await Task.Delay(RetryDelay).ConfigureAwait(false);
        }
    }

    /// <summary>Charges the log what it holds now (it grows a disk part per 50k-100k records).</summary>
    public void Recharge(StreamLog log, int files)
    {
        lock (_lock)
        {
            if (!_open.Contains(log))
                return;
            _used += files - log.Charged;
            if (log.Pinned)
                _pinned += files - log.Charged;
            log.Charged = files;
        }
    }

    /// <summary>The log closed: what it held is free again.</summary>
    public void Release(StreamLog log)
    {
        lock (_lock)
        {
            if (_open.Remove(log))
            {
                _used -= log.Charged;
                if (log.Pinned)
                    _pinned -= log.Charged;
            }
            log.Charged = 0;
        }
    }

    private bool ProcessHasRoom(int files)
    {
        if (_processLimit < 0)
            return true;
        int open = FileDescriptors.CountOpen();
        return open < 0 || open + files + _headroom <= _processLimit;
    }

    private string Describe(int files)
    {
        lock (_lock)
        {
            return $"no room to open a stream log ({files} files): the open logs hold {_used} of the {Capacity} files allowed " +
                $"({_open.Count} logs, none of them closable), and the process has {FileDescriptors.CountOpen()} of {_processLimit} descriptors open";
        }
    }
}

/// <summary>A log could not be opened without taking the process past its file descriptor limit.</summary>
internal sealed class LogBudgetExhaustedException(string message) : IOException(message);
