namespace Platform.Load.Reporting;

/// <summary>How a run ended; the compare script branches on these words.</summary>
internal enum RunStatus
{
    /// <summary>Every message sent was completed without error.</summary>
    Ok,

    /// <summary>The run finished but some messages errored or were lost.</summary>
    Errors,

    /// <summary>The server lacks a feature the scenario needs (for example the consumer API).</summary>
    Unsupported,

    /// <summary>The run could not be carried out (no connection, setup failed, crashed).</summary>
    Failed,
}

/// <summary>The outcome of one scenario run, written as a table, JSON and CSV.</summary>
internal sealed record RunResult
{
    public required string Scenario { get; init; }
    public required string Url { get; init; }
    public string? Label { get; init; }
    public int Size { get; init; }
    public int Pubs { get; init; }
    public int Subs { get; init; }
    public int Streams { get; init; }
    public double? TargetRate { get; init; }
    public RunStatus Status { get; init; }

    /// <summary>Messages published or requests sent.</summary>
    public long Sent { get; init; }

    /// <summary>Messages the throughput counts: acks, deliveries, replies or consumed messages.</summary>
    public long Completed { get; init; }

    public long Errors { get; init; }
    public double ElapsedSeconds { get; init; }

    /// <summary>What <see cref="Completed"/> counts, spelled out in the report.</summary>
    public string? Measures { get; init; }

    public string? LatencyMeasures { get; init; }
    public LatencySummary? Latency { get; init; }
    public string? Message { get; init; }

    /// <summary>Server CPU seconds (user+system) during the measured run, when --server-pid was given.</summary>
    public double? ServerCpuSeconds { get; init; }

    /// <summary>Server peak resident memory (VmHWM) in kB at the end of the run, when --server-pid was given.</summary>
    public long? ServerPeakRssKb { get; init; }

    public double MsgsPerSec => ElapsedSeconds > 0 ? Completed / ElapsedSeconds : 0;

    /// <summary>Payload megabytes (10^6 bytes) per second, as nats bench counts them: payload only, no protocol.</summary>
    public double MBPerSec => MsgsPerSec * Size / 1e6;
}
