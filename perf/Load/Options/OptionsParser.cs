using System.Globalization;

namespace Platform.Load.Options;

/// <summary>
/// Hand-written flag parser: the flag set is small and fixed, and a parser package would be one more pinned
/// dependency for the whole solution to carry.
/// </summary>
internal static class OptionsParser
{
    public const string Usage = """
        usage: Platform.Load <scenario> [flags]

        scenarios:
          pub           core publish only
          pubsub        core publish to --subs subscribers (1:1, or 1:N fan-out)
          reqrep        request/reply against a responder in this process
          js-pub-async  JetStream publish with --window acks in flight per publisher
          js-pub-sync   JetStream publish, one ack awaited before the next publish
          js-pubsub     JetStream publish with concurrent pull consumers acking explicitly
          js-consume    pre-fill a backlog, then pull-consume it with explicit acks
          js-fetch      the same with a fetch-then-ack loop (--batch per request), as a Go worker with Fetch(n)
          js-pub-partitioned  async publish to one stream of --partitions partitions, publishers spread over --cluster-urls

        flags:
          --url URL        server to load (default nats://127.0.0.1:4222)
          --cluster-urls U1,U2,...  the nodes of a cluster: publishers on U1, subscribers and the responder on U2,
                           JetStream publishers on a node that is not the stream's leader (replaces --url)
          --partitions N   partitions of js-pub-partitioned's stream (default 3)
          --size BYTES     payload size (default 128)
          --msgs N         total messages across publishers (default 100000 unless --duration)
          --duration SECS  publish for this long (with --msgs: whichever ends first)
          --pubs N         publishers, one connection each (default 1)
          --subs N         subscribers / consumers, one connection each (default 1)
          --streams N      JetStream streams LOAD0..LOADn-1 over load.<i>.> (default 1)
          --batch N        pull batch size for consumers (default 500)
          --replicas N     num_replicas of the JetStream scenarios' streams (default 1; 3 needs a cluster)
          --window N       in-flight acks per async publisher (default 256)
          --rate MSGS/S    fixed total rate; latency is measured from each message's intended send time
          --json FILE      write the result as JSON
          --csv FILE       append the result as a CSV row (header written when the file is new)
          --timeline FILE  js-pub-async: write publish-ack latency per second (p50, p99, p99.9, max) as CSV
          --label TEXT     copied into the JSON/CSV result
          --warmup SECS    run the scenario unmeasured for this long first (default 0); a backlog
                           scenario (js-consume, js-fetch, js-push*) repeats its --msgs backlog until then
          --server-pid PID report this local server process's CPU seconds and peak RSS
          --keep           keep the LOAD streams after the run
          --max-time SECS  ceiling for count-bounded phases (default 300)
          --drain SECS     wait for outstanding acks/deliveries after publishing (default 10)
          --quiet          no progress lines
        """;

    /// <summary>Parses the arguments, or returns an error text for the usage message.</summary>
    public static (LoadOptions? Options, string? Error) Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0)
            return (null, "missing scenario");
        if (args[0] is "-h" or "--help")
            return (null, null);
        var o = new LoadOptions { Scenario = args[0] };
        for (var i = 1; i < args.Count; i++)
        {
            var flag = args[i];
            string Value()
            {
                if (i + 1 >= args.Count)
                    throw new FormatException($"{flag} needs a value");
                return args[++i];
            }
            o = flag switch
            {
                "--url" or "-s" => o with { Url = Value() },
                "--cluster-urls" => ClusterUrls(o, flag, Value()),
                "--partitions" => o with { Partitions = Int(flag, Value(), 1) },
                "--replicas" => o with { Replicas = Int(flag, Value(), 1) },
                "--size" => o with { Size = Int(flag, Value(), 0) },
                "--msgs" => o with { Msgs = Long(flag, Value(), 1) },
                "--duration" => o with { Duration = Positive(flag, Value()) },
                "--pubs" => o with { Pubs = Int(flag, Value(), 1) },
                "--subs" => o with { Subs = Int(flag, Value(), 1) },
                "--streams" => o with { Streams = Int(flag, Value(), 1) },
                "--batch" => o with { Batch = Int(flag, Value(), 1) },
                "--window" => o with { Window = Int(flag, Value(), 1) },
                "--rate" => o with { Rate = Positive(flag, Value()) },
                "--json" => o with { JsonFile = Value() },
                "--csv" => o with { CsvFile = Value() },
                "--timeline" => o with { TimelineFile = Value() },
                "--label" => o with { Label = Value() },
                "--warmup" => o with { Warmup = Positive(flag, Value()) },
                "--server-pid" => o with { ServerPid = Int(flag, Value(), 1) },
                "--keep" => o with { Keep = true },
                "--max-time" => o with { MaxTime = Positive(flag, Value()) },
                "--drain" => o with { Drain = Positive(flag, Value()) },
                "--quiet" or "-q" => o with { Quiet = true },
                _ => throw new FormatException($"unknown flag {flag}"),
            };
        }
        return (o, null);
    }

    private static LoadOptions ClusterUrls(LoadOptions o, string flag, string text)
    {
        var urls = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (urls.Length < 2)
            throw new FormatException($"{flag} wants at least two comma-separated URLs, got '{text}'");
        return o with { ClusterUrls = urls, Url = urls[0] };
    }

    private static int Int(string flag, string text, int min) => (int)Long(flag, text, min, int.MaxValue);

    private static long Long(string flag, string text, long min, long max = long.MaxValue)
    {
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            throw new FormatException($"{flag} wants an integer ≥ {min}, got '{text}'");
        return v;
    }

    private static double Positive(string flag, string text)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v > 0) || double.IsInfinity(v))
            throw new FormatException($"{flag} wants a positive number, got '{text}'");
        return v;
    }
}
