using BenchmarkDotNet.Attributes;
using Platform.Grains.Storage;

namespace Platform.Benchmarks;

/// <summary>
/// Reads from a log of 100,000 messages of 128 B on 10 subjects, closed and reopened after filling so the reads
/// come from disk segments rather than the memtable. Times and allocations are per message.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class LogReadBenchmarks
{
    private const int Stored = 100_000;
    private const int ReadBatch = 100;
    private const int Lookups = 1000;

    private readonly List<LogRecord> _records = new(ReadBatch);
    private string _directory = "";
    private ZoneTreeMessageLog? _log;
    private ulong[] _randomSequences = [];
    private ulong _nextRead = 1;

    [GlobalSetup]
    public async Task Setup()
    {
        _directory = BenchmarkDirectory.Create("log-read");
        var payload = new byte[128];
        new Random(1).NextBytes(payload);
        var subjects = Enumerable.Range(0, 10).Select(i => System.Text.Encoding.ASCII.GetBytes($"orders.eu.{i}")).ToArray();
        var options = new MessageLogOptions { Directory = _directory };
        await using (var fill = ZoneTreeMessageLog.Open(options))
        {
            for (int i = 1; i <= Stored; i++)
            {
                if (i % 1000 == 0)
                    await fill.WaitForCapacityAsync();
                fill.Append(subjects[i % subjects.Length], default, payload, i);
            }
        }
        _log = ZoneTreeMessageLog.Open(options);
        var random = new Random(2);
        _randomSequences = Enumerable.Range(0, Lookups).Select(_ => (ulong)random.NextInt64(1, Stored + 1)).ToArray();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        if (_log is not null)
            await _log.DisposeAsync();
        BenchmarkDirectory.Delete(_directory);
    }

    /// <summary>What a consumer does: the next 100 messages from where it left off, wrapping at the end.</summary>
    [Benchmark(OperationsPerInvoke = ReadBatch)]
    public int ReadSequential()
    {
        _records.Clear();
        int read = _log!.Read(_nextRead, ReadBatch, 0, null, _records);
        _nextRead = _nextRead + ReadBatch > Stored ? 1 : _nextRead + ReadBatch;
        return read;
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public long TryGetRandom()
    {
        long bytes = 0;
        foreach (var sequence in _randomSequences)
        {
            if (_log!.TryGet(sequence, out var record))
                bytes += record.Payload.Length;
        }
        return bytes;
    }
}
