namespace Platform.Load.Scenarios;

/// <summary>
/// The server under test lacks something the scenario needs (the consumer API, so far). Kept apart from other
/// failures so that the report, and the compare script, can say "not supported" rather than "crashed".
/// </summary>
internal sealed class ScenarioUnsupportedException(string message, Exception? inner = null) : Exception(message, inner);
