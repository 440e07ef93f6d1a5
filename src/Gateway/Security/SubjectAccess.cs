using System.Collections.Concurrent;
using System.Text;
using Platform.Grains.Subjects;

namespace Platform.Gateway.Security;

/// <summary>
/// An allow/deny list compiled for checking subjects on the hot path. Patterns are held as UTF-8 bytes, the form
/// subjects have on the wire, so a configured <c>секрет.&gt;</c> meets the bytes a client sends. Results are cached per
/// subject (shared by all connections of the user); a cache hit allocates nothing. The cache is bounded: past
/// <see cref="CacheLimit"/> entries it is emptied, so a client publishing to endless distinct subjects costs a pattern
/// scan per publish, never unbounded memory.
/// </summary>
internal sealed class SubjectAccess
{
    internal const int CacheLimit = 4096;

    private readonly byte[][]? _allow;
    private readonly byte[][] _deny;
    private readonly ConcurrentDictionary<byte[], bool> _cache = new(SubjectKeyComparer.Instance);
    private readonly ConcurrentDictionary<byte[], bool>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private int _cached;

    public SubjectAccess(IReadOnlyList<string>? allow, IReadOnlyList<string>? deny)
    {
        _allow = allow is null ? null : Encode(allow);
        _deny = deny is null ? [] : Encode(deny);
        _lookup = _cache.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public int CacheCount => _cache.Count;

    /// <summary>Whether the subject (wire bytes) is allowed. Wildcards in the subject are matched as literal tokens,
    /// as nats-server does: "y.&gt;" is allowed by "y.*" and "x.&gt;", not by "y.a".</summary>
    public bool IsAllowed(ReadOnlySpan<byte> subject)
    {
        if (_lookup.TryGetValue(subject, out var cached))
            return cached;
        var allowed = Evaluate(subject);
        if (Interlocked.Increment(ref _cached) > CacheLimit)
        {
            _cache.Clear();
            Interlocked.Exchange(ref _cached, 1);
        }
        _lookup[subject] = allowed;
        return allowed;
    }

    public bool IsAllowed(string subject) => IsAllowed(Encoding.UTF8.GetBytes(subject));

    /// <summary>
    /// A subject with an empty token matches no pattern, as in nats-server, whose lists are sublists: it passes a deny
    /// list (and is then delivered and stored nowhere) but fails an allow list.
    /// </summary>
    private bool Evaluate(ReadOnlySpan<byte> subject)
    {
        if (_allow is not null && !AnyMatches(_allow, subject))
            return false;
        return !AnyMatches(_deny, subject);
    }

    private static bool AnyMatches(byte[][] patterns, ReadOnlySpan<byte> subject)
    {
        if (SubjectMatch.HasEmptyToken(subject))
            return false;
        foreach (var pattern in patterns)
        {
            if (SubjectMatch.Matches(subject, pattern))
                return true;
        }
        return false;
    }

    private static byte[][] Encode(IReadOnlyList<string> patterns)
    {
        var encoded = new byte[patterns.Count][];
        for (int i = 0; i < patterns.Count; i++)
            encoded[i] = Encoding.UTF8.GetBytes(patterns[i]);
        return encoded;
    }
}
