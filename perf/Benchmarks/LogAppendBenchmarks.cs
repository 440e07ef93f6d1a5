using BenchmarkDotNet.Attributes;
using Platform.Grains.Storage;

namespace Platform.Benchmarks;

/// <summary>
/// Appends to a <see cref="ZoneTreeMessageLog"/> on disk, 10,000 messages per invocation, as a stream grain does:
/// capacity checked per batch of 100, and with <see cref="LogSyncPolicy.Always"/> a commit (one shared fsync) per
/// batch. Times and allocations are per message.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
// A fixed count keeps the log, which grows across iterations, the same size in every run: 1+3 iterations of 200k.
[InvocationCount(20)]
public class LogAppendBenchmarks
{
    private const int Messages = 10_000;
    private const int Batch = 100;

    private readonly byte[] _subject = "orders.eu.created"u8.ToArray();
    private byte[] _payload = [];
    private string _directory = "";
    private ZoneTreeMessageLog? _log;
    private long _timestamp;

    [Params(16, 128)]
    public int PayloadSize { get; set; }

    [Params(Durability.Interval, Durability.Always)]
    public Durability Sync { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _payload = new byte[PayloadSize];
        new Random(1).NextBytes(_payload);
        _directory = BenchmarkDirectory.Create("log-append");
        _log = ZoneTreeMessageLog.Open(new MessageLogOptions { Directory = _directory, SyncPolicy = Sync == Durability.Always ? LogSyncPolicy.Always : LogSyncPolicy.Interval });
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        if (_log is not null)
            await _log.DisposeAsync();
        BenchmarkDirectory.Delete(_directory);
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task<ulong> Append()
    {
        var log = _log!;
        ulong last = 0;
        for (int i = 0; i < Messages; i += Batch)
        {
            await log.WaitForCapacityAsync();
            for (int j = 0; j < Batch; j++)
                last = log.Append(_subject, default, _payload, ++_timestamp);
            await log.CommitAsync();
        }
        return last;
    }
}

/// <summary>The log's <see cref="LogSyncPolicy"/>, which is internal and so cannot be a benchmark parameter itself.</summary>
public enum Durability
{
    Interval,
    Always,
}

internal static class BenchmarkDirectory
{
    public static string Create(string purpose)
    {
        var path = Path.Combine(Path.GetTempPath(), "platform-benchmarks", $"{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public static void Delete(string path)
    {
        if (Directory.Exists(path))
            Directory.Delete(path, recursive: true);
    }
}
