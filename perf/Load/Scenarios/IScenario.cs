using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>One kind of load. A scenario sets up what it needs, runs bounded by the context's limits, cleans up.</summary>
internal interface IScenario
{
    string Name { get; }

    /// <summary>
    /// The scenario's load is a stored backlog of --msgs, consumed: its warm-up repeats that backlog rather than
    /// pre-filling what --warmup seconds of unpaced publishing store.
    /// </summary>
    bool ConsumesBacklog => false;

    Task<RunResult> RunAsync(ScenarioContext context);
}
