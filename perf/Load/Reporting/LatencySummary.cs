namespace Platform.Load.Reporting;

/// <summary>Latency percentiles in microseconds, as reported in the table, JSON and CSV.</summary>
internal sealed record LatencySummary(long Count, double P50, double P90, double P99, double P999, double Max, double Mean);
