using NATS.Client.Core;
using Platform.Load.Options;
using Platform.Load.Reporting;
using Platform.Load.Scenarios;

namespace Platform.Load;

/// <summary>
/// Load generator for any NATS server (nats-server or the silo): runs one scenario, prints a table, optionally
/// writes JSON/CSV. Exit codes: 0 ok, 1 errors or failure, 2 usage, 3 the server does not support the scenario.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        LoadOptions? options;
        try
        {
            (options, var error) = OptionsParser.Parse(args);
            if (options is null)
            {
                if (error is not null)
                    Console.Error.WriteLine($"error: {error}");
                Console.Error.WriteLine(OptionsParser.Usage);
                return error is null ? 0 : 2;
            }
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}\n\n{OptionsParser.Usage}");
            return 2;
        }
        var scenario = ScenarioCatalog.Find(options.Scenario);
        if (scenario is null)
        {
            Console.Error.WriteLine($"error: unknown scenario '{options.Scenario}'\n\n{OptionsParser.Usage}");
            return 2;
        }

        // A paced loop waits out sub-millisecond gaps by yielding on its thread, which holds a pool worker; with the
        // pool's default of one worker per core the responder and the client's socket readers would then queue
        // behind it for whole milliseconds. Enough workers up front keeps the waiting from distorting latencies.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 4 * (options.Pubs + options.Subs) + 16), io);

        var result = await RunAsync(scenario, options);
        Console.Out.Write(TableReport.Render(result));
        if (options.JsonFile is { } json)
            JsonReport.Write(json, result);
        if (options.CsvFile is { } csv)
            CsvReport.Append(csv, result);
        return result.Status switch
        {
            RunStatus.Ok => 0,
            RunStatus.Unsupported => 3,
            _ => 1,
        };
    }

    /// <summary>
    /// The optional warm-up, then the measured run with the server's CPU sampled around it. A warm-up that finds
    /// the server lacking (unsupported, failed) is the answer: the measured run would only repeat it.
    /// </summary>
    private static async Task<RunResult> RunAsync(IScenario scenario, LoadOptions options)
    {
        if (options.Warmup > 0)
        {
            var warm = await WarmUpAsync(scenario, options);
            if (!options.Quiet)
                Console.Error.WriteLine($"warm-up: {warm.Status.ToString().ToLowerInvariant()}, {warm.MsgsPerSec:N0} msgs/s over {warm.ElapsedSeconds:F1} s");
            if (warm.Status is RunStatus.Unsupported or RunStatus.Failed)
                return warm with { Message = $"during the warm-up: {warm.Message}" };
        }
        var before = ServerProcessSample.TryRead(options.ServerPid);
        var result = await RunOnceAsync(scenario, options);
        var after = ServerProcessSample.TryRead(options.ServerPid);
        return before is { } b && after is { } a
            ? result with { ServerCpuSeconds = a.CpuSeconds - b.CpuSeconds, ServerPeakRssKb = a.PeakRssKb }
            : result;
    }

    /// <summary>
    /// --warmup seconds of the same load on a fresh scenario instance, unmeasured. A publishing scenario runs for that
    /// long. A backlog scenario repeats its own backlog until the time is up, as perf/gofetch does: run by duration,
    /// it pre-filled what 8 s of unpaced publishing store (about 2.4 million messages before jsfetch1's 20,000) and
    /// consumed them for minutes, so the server was still taking that stream apart when the measured run began.
    /// </summary>
    private static async Task<RunResult> WarmUpAsync(IScenario scenario, LoadOptions options)
    {
        var warm = options with { TimelineFile = null, Quiet = true };
        IScenario Fresh() => ScenarioCatalog.Find(options.Scenario)!;
        if (!scenario.ConsumesBacklog)
            return await RunOnceAsync(Fresh(), warm with { Duration = options.Warmup, Msgs = null });

        long deadline = Clock.Now + Clock.FromSeconds(options.Warmup);
        RunResult result;
        do
            result = await RunOnceAsync(Fresh(), warm);
        while (result.Status == RunStatus.Ok && Clock.Now < deadline);
        return result;
    }

    /// <summary>Runs the scenario and turns every way it can end, including exceptions, into a result.</summary>
    private static async Task<RunResult> RunOnceAsync(IScenario scenario, LoadOptions options)
    {
        using var limits = new RunLimits(options);
        var context = new ScenarioContext(options, limits, new LiveCounters());
        try
        {
            return await scenario.RunAsync(context);
        }
        catch (ScenarioUnsupportedException ex)
        {
            return Failure(context, RunStatus.Unsupported, ex.Message);
        }
        catch (OperationCanceledException) when (limits.Hard.IsCancellationRequested)
        {
            return Failure(context, RunStatus.Failed, "the run hit its hard time limit (publish time + drain + --max-time) before it could finish");
        }
        catch (Exception ex) when (ex is NatsException or InvalidOperationException or TimeoutException or OperationCanceledException or IOException)
        {
            return Failure(context, RunStatus.Failed, $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    private static RunResult Failure(ScenarioContext context, RunStatus status, string message) =>
        context.NewResult(context.Options.Subs) with
        {
            Status = status,
            Sent = context.Counters.Sent,
            Completed = context.Counters.Done,
            Errors = context.Counters.Errors,
            Message = context.Counters.FirstError is { } first ? $"{message} (first error: {first})" : message,
        };
}
