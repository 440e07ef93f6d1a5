using Platform.Load.Options;

namespace Platform.Load.Scenarios;

/// <summary>
/// The count and time bounds every loop obeys, so a run always ends by itself even when the server stops
/// answering: publishers stop at their share of --msgs or at the publish deadline, and everything (draining
/// included) is cancelled at the hard deadline.
/// </summary>
internal sealed class RunLimits : IDisposable
{
    private readonly CancellationTokenSource _hard;
    private readonly LoadOptions _options;

    public RunLimits(LoadOptions options)
    {
        _options = options;
        // Setup (streams, consumers, a pre-fill) and draining get their own allowance on top of the publish time.
        var hard = options.PublishTimeLimit + TimeSpan.FromSeconds(options.Drain) + TimeSpan.FromSeconds(options.MaxTime);
        _hard = new CancellationTokenSource(hard);
    }

    /// <summary>Cancelled when the whole run must stop, whatever phase it is in.</summary>
    public CancellationToken Hard => _hard.Token;

    public TimeSpan Drain => TimeSpan.FromSeconds(_options.Drain);

    /// <summary>Messages publisher <paramref name="index"/> of <paramref name="count"/> sends: an even split of --msgs.</summary>
    public long ShareOf(int index, int count)
    {
        var total = _options.EffectiveMsgs;
        if (total == long.MaxValue)
            return long.MaxValue;
        return total / count + (index < total % count ? 1 : 0);
    }

    /// <summary>A token cancelled when the publish phase that starts now must end.</summary>
    public CancellationTokenSource StartPublishPhase()
    {
        var phase = CancellationTokenSource.CreateLinkedTokenSource(_hard.Token);
        phase.CancelAfter(_options.PublishTimeLimit);
        return phase;
    }

    public void Dispose() => _hard.Dispose();
}
