using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.TestingHost;
using Platform.Grains.Streams;

namespace Platform.Benchmarks;

/// <summary>
/// The publish path without the network: one framed batch of 100 × 128 B messages to <see cref="IStreamGrain.Append"/>
/// on a file stream, called through the silo's own grain factory as the co-hosted gateway does. One batch at a time
/// (a single connection waiting for its acks) and four in flight (connections sharing the stream). The stream's
/// log syncs on an interval, the only policy a stream has today. Times and allocations are per message.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
// A fixed count bounds how large the log grows across iterations.
[InvocationCount(1000)]
public class StreamAppendBenchmarks
{
    private const int BatchMessages = 100;
    private const int PayloadSize = 128;
    private const int InFlight = 4;

    private string _directory = "";
    private InProcessTestCluster? _cluster;
    private IStreamGrain? _stream;
    private Immutable<byte[]> _frames;
    private int _length;

    [GlobalSetup]
    public async Task Setup()
    {
        _directory = BenchmarkDirectory.Create("stream-append");
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) => silo.AddPlatformStreaming(o => o.StoreDirectory = _directory));
        builder.ConfigureSiloHost((_, host) => host.Logging.SetMinimumLevel(LogLevel.Warning));
        builder.ConfigureClientHost(host => host.Logging.SetMinimumLevel(LogLevel.Warning));
        _cluster = builder.Build();
        await _cluster.DeployAsync();

        var grains = _cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainFactory>();
        var created = await grains.GetGrain<IStreamCatalogGrain>(0)
            .Create(new PlatformStreamConfig { Name = "Bench", Subjects = ["orders.>"] }.WithDefaults());
        if (created.Error is { } error)
            throw new InvalidOperationException($"Creating the stream failed: {error.Description}");
        _stream = grains.GetGrain<IStreamGrain>("Bench");
        (_frames, _length) = Frame();
    }

    private static (Immutable<byte[]>, int) Frame()
    {
        var payload = new byte[PayloadSize];
        new Random(1).NextBytes(payload);
        var subjects = Enumerable.Range(0, 10).Select(i => System.Text.Encoding.ASCII.GetBytes($"orders.eu.{i}")).ToArray();
        var buffer = new byte[BatchMessages * PublishFrames.FrameSize(subjects[0].Length, 0, PayloadSize)];
        int offset = 0;
        for (int i = 0; i < BatchMessages; i++)
        {
            var subject = subjects[i % subjects.Length];
            PublishFrames.WriteHeader(buffer.AsSpan(offset), subject.Length, 0, PayloadSize);
            offset += PublishFrames.FrameHeaderSize;
            subject.CopyTo(buffer.AsSpan(offset));
            offset += subject.Length;
            payload.CopyTo(buffer.AsSpan(offset));
            offset += PayloadSize;
        }
        return (new Immutable<byte[]>(buffer), offset);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }
        BenchmarkDirectory.Delete(_directory);
    }

    [Benchmark(OperationsPerInvoke = BatchMessages)]
    public async Task<ulong> Append()
    {
        var acks = await _stream!.Append(_frames, _length, BatchMessages);
        return Check(acks.Value);
    }

    [Benchmark(OperationsPerInvoke = BatchMessages * InFlight)]
    public async Task<ulong> Append4InFlight()
    {
        var calls = new Task<Immutable<PublishAck[]>>[InFlight];
        for (int i = 0; i < InFlight; i++)
            calls[i] = _stream!.Append(_frames, _length, BatchMessages);
        ulong last = 0;
        foreach (var call in calls)
            last = Math.Max(last, Check((await call).Value));
        return last;
    }

    /// <summary>A refused message would make the numbers meaningless, so one stops the run.</summary>
    private static ulong Check(PublishAck[] acks)
    {
        foreach (var ack in acks)
        {
            if (ack.Error is { } error)
                throw new InvalidOperationException($"Append failed: {error.Description}");
        }
        return acks[^1].Sequence;
    }
}
