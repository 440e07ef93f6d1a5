using System.Text;
using BenchmarkDotNet.Attributes;
using Platform.Gateway.Routing;

namespace Platform.Benchmarks;

/// <summary>
/// Match against 1000 subscriptions: literal and wildcard subjects that stay in the match cache, and a stream of
/// distinct subjects far larger than the cache so nearly every match walks the trie. Times are per match.
/// </summary>
[MemoryDiagnoser]
public class RouterBenchmarks
{
    private const int Subjects = 256;
    /// <summary>64 times the 1024-entry cache: a subject comes round again long after it was evicted.</summary>
    private const int MissSubjects = 65536;

    private readonly SubjectRouter _router = new();
    private byte[][] _literal = [];
    private byte[][] _wildcard = [];
    private byte[][] _misses = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        // 800 literal subjects, 100 with a '*' and 100 with a '>'; every tenth one in a queue group.
        for (int i = 0; i < 800; i++)
            _router.Add(Sub($"svc.{i}.req", i % 10 == 0 ? "workers" : null));
        for (int i = 0; i < 100; i++)
            _router.Add(Sub($"svc.{800 + i}.*", i % 10 == 0 ? "workers" : null));
        for (int i = 0; i < 100; i++)
            _router.Add(Sub($"events.{i}.>", i % 10 == 0 ? "audit" : null));

        _literal = Enumerable.Range(0, Subjects).Select(i => Ascii($"svc.{i}.req")).ToArray();
        _wildcard = Enumerable.Range(0, Subjects)
            .Select(i => i % 2 == 0 ? Ascii($"svc.{800 + i % 100}.x{i}") : Ascii($"events.{i % 100}.created.{i}"))
            .ToArray();
        _misses = Enumerable.Range(0, MissSubjects).Select(i => Ascii($"svc.{800 + i % 100}.m{i}")).ToArray();

        foreach (var subject in _literal.Concat(_wildcard))
        {
            if (_router.Match(subject).IsEmpty)
                throw new InvalidOperationException("Every benchmark subject must have a subscriber.");
        }
    }

    [Benchmark(OperationsPerInvoke = Subjects, Baseline = true)]
    public int LiteralCacheHit() => MatchAll(_literal);

    [Benchmark(OperationsPerInvoke = Subjects)]
    public int WildcardCacheHit() => MatchAll(_wildcard);

    [Benchmark(OperationsPerInvoke = Subjects)]
    public int CacheMiss()
    {
        int found = 0;
        for (int i = 0; i < Subjects; i++)
        {
            found += _router.Match(_misses[_next]).Plain.Length;
            _next = (_next + 1) % MissSubjects;
        }
        return found;
    }

    private int MatchAll(byte[][] subjects)
    {
        int found = 0;
        foreach (var subject in subjects)
            found += _router.Match(subject).Plain.Length;
        return found;
    }

    private static Subscription Sub(string subject, string? queue) => new(subject, queue, Ascii("1"), null, null);

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
}
