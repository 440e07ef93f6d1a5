namespace Platform.Fuzz;

/// <summary>
/// How long a fuzz test runs: a few seconds by default, so CI stays bounded; FUZZ_SECONDS=N runs each fuzz test for N
/// seconds, and FUZZ_SEED replays one CsCheck seed from a failure message.
/// </summary>
internal static class FuzzBudget
{
    public static int Seconds(int fallback)
        => int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SECONDS"), out var seconds) && seconds > 0 ? seconds : fallback;

    public static string? Seed => Environment.GetEnvironmentVariable("FUZZ_SEED") is { Length: > 0 } seed ? seed : null;
}
