using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Platform.Gateway.Protocol;

namespace Platform.Benchmarks;

/// <summary>Parsing one read holding 1000 PUBs; times and allocations are per message.</summary>
[MemoryDiagnoser]
public class ParserBenchmarks
{
    private const int Messages = 1000;
    /// <summary>Kestrel's pipe hands reads over in 4 KB segments, so some control lines straddle two of them.</summary>
    private const int SegmentSize = 4096;

    private readonly NatsParser _parser = new(4096, 1024 * 1024);
    private ReadOnlySequence<byte> _contiguous;
    private ReadOnlySequence<byte> _segmented;

    [Params(16, 1024)]
    public int PayloadSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var payload = new byte[PayloadSize];
        new Random(1).NextBytes(payload);
        var wire = new MemoryStream();
        for (int i = 0; i < Messages; i++)
        {
            wire.Write(Encoding.ASCII.GetBytes($"PUB orders.eu.{i % 100} {PayloadSize}\r\n"));
            wire.Write(payload);
            wire.Write("\r\n"u8);
        }
        var bytes = wire.ToArray();
        _contiguous = new ReadOnlySequence<byte>(bytes);
        _segmented = Segments.Of(bytes, SegmentSize);
    }

    [Benchmark(OperationsPerInvoke = Messages, Baseline = true)]
    public long Pub() => ParseAll(_contiguous);

    [Benchmark(OperationsPerInvoke = Messages)]
    public long Pub4KSegments() => ParseAll(_segmented);

    private long ParseAll(in ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        long bytes = 0;
        while (_parser.TryParse(ref reader, out var op) == ParseStatus.Op)
            bytes += op.Payload.Length + op.Subject.Length;
        if (!reader.End)
            throw new InvalidOperationException("The benchmark buffer did not parse to the end.");
        return bytes;
    }
}

internal sealed class Segments : ReadOnlySequenceSegment<byte>
{
    private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Of(byte[] bytes, int size)
    {
        var first = new Segments(bytes.AsMemory(0, Math.Min(size, bytes.Length)), 0);
        var last = first;
        for (int start = size; start < bytes.Length; start += size)
        {
            var next = new Segments(bytes.AsMemory(start, Math.Min(size, bytes.Length - start)), start);
            last.Next = next;
            last = next;
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
