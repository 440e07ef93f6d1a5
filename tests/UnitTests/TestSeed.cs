namespace Platform.UnitTests;

/// <summary>
/// The seed for randomized tests: fixed so a run is repeatable, overridable with UNITTEST_SEED to explore other
/// cases or replay one from a failure message.
/// </summary>
internal static class TestSeed
{
    public static int Get(int fallback)
        => int.TryParse(Environment.GetEnvironmentVariable("UNITTEST_SEED"), out var seed) ? seed : fallback;
}
