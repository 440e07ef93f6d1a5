namespace Platform.Load.Options;

/// <summary>Everything one run of the load generator needs to know; built from the command line by <see cref="OptionsParser"/>.</summary>
internal sealed record LoadOptions
{
    public required string Scenario { get; init; }
    public string Url { get; init; } = "nats://127.0.0.1:4222";

    /// <summary>
    /// The nodes of a cluster (--cluster-urls), publishers' node first: subscribers, responders and JetStream
    /// publishers are then placed on other nodes than the publisher or the stream (see Scenarios/ClusterNodes).
    /// </summary>
    public IReadOnlyList<string>? ClusterUrls { get; init; }

    /// <summary>Partitions of the partitioned-stream scenario's stream (the silo's "partitions" extension).</summary>
    public int Partitions { get; init; } = 3;
    /// <summary>num_replicas of the JetStream scenarios' streams (--replicas): 3 for the replicated-stream runs.</summary>
    public int Replicas { get; init; } = 1;
    public int Size { get; init; } = 128;

    /// <summary>Total messages across all publishers; null when only a duration was given.</summary>
    public long? Msgs { get; init; }

    /// <summary>Length of the publish phase in seconds; null when only a count was given.</summary>
    public double? Duration { get; init; }

    public int Pubs { get; init; } = 1;
    public int Subs { get; init; } = 1;
    public int Streams { get; init; } = 1;

    /// <summary>Pull batch size (messages per pull request) for the consuming scenarios.</summary>
    public int Batch { get; init; } = 500;

    /// <summary>In-flight publish acks per publisher for the async JetStream publishers.</summary>
    public int Window { get; init; } = 256;

    /// <summary>Total target rate in messages per second across publishers; null means as fast as possible.</summary>
    public double? Rate { get; init; }

    public string? JsonFile { get; init; }
    public string? CsvFile { get; init; }

    /// <summary>CSV of publish-ack latencies per second of the publish phase (js-pub-async only).</summary>
    public string? TimelineFile { get; init; }
    public bool Quiet { get; init; }
    public bool Keep { get; init; }

    /// <summary>Ceiling in seconds for a count-bounded publish phase (and for a backlog consume), so no loop runs forever.</summary>
    public double MaxTime { get; init; } = 300;

    /// <summary>Seconds to wait after publishing for outstanding acks and deliveries before counting them as lost.</summary>
    public double Drain { get; init; } = 10;

    /// <summary>Seconds of the same scenario to run, unmeasured, before the measured run: JIT and caches of
    /// client and server warm up, and the measured run still starts with fresh streams.</summary>
    public double Warmup { get; init; }

    /// <summary>Pid of the server under test, to report its CPU time during the measured run and its peak RSS.</summary>
    public int? ServerPid { get; init; }

    /// <summary>Free text copied into the report (the compare script puts the server name here).</summary>
    public string? Label { get; init; }

    /// <summary>Count used when neither --msgs nor --duration is given.</summary>
    public const long DefaultMsgs = 100_000;

    /// <summary>The count limit the publishers obey: the explicit count, unbounded when only a duration bounds the run.</summary>
    public long EffectiveMsgs => Msgs ?? (Duration is null ? DefaultMsgs : long.MaxValue);

    /// <summary>The time limit the publishers obey: the explicit duration or, for a count-bounded run, the safety ceiling.</summary>
    public TimeSpan PublishTimeLimit => TimeSpan.FromSeconds(Duration ?? MaxTime);
}
