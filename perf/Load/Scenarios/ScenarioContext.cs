using Platform.Load.Options;
using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>What a scenario gets from the host: the options, the run's limits and its live counters.</summary>
internal sealed class ScenarioContext(LoadOptions options, RunLimits limits, LiveCounters counters)
{
    public LoadOptions Options { get; } = options;
    public RunLimits Limits { get; } = limits;
    public LiveCounters Counters { get; } = counters;

    public ProgressReporter Progress(string phase, LiveCounters? sent = null, LiveCounters? done = null) =>
        new(phase, sent ?? done ?? Counters, done ?? sent ?? Counters, Options.Quiet);

    /// <summary>A result with the run's shape filled in, for the scenario to complete.</summary>
    public RunResult NewResult(int subs) => new()
    {
        Scenario = Options.Scenario,
        Url = Options.Url,
        Label = Options.Label,
        Size = Options.Size,
        Pubs = Options.Pubs,
        Subs = subs,
        Streams = Options.Streams,
        TargetRate = Options.Rate,
    };
}
