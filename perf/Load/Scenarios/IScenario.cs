using Platform.Load.Reporting;

namespace Platform.Load.Scenarios;

/// <summary>One kind of load. A scenario sets up what it needs, runs bounded by the context's limits, cleans up.</summary>
internal interface IScenario
{
    string Name { get; }

    Task<RunResult> RunAsync(ScenarioContext context);
}
