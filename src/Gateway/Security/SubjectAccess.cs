using System.Collections.Concurrent;
using System.Text;
using Platform.Gateway.Routing;

namespace Platform.Gateway.Security;

/// <summary>
/// An allow/deny list compiled for checking subjects on the hot path. Results are cached per subject (shared by all
/// connections of the user); a cache hit converts the subject to chars on the stack and allocates nothing. The cache
/// is bounded: past <see cref="CacheLimit"/> entries it is emptied, so a client publishing to endless distinct
/// subjects costs a pattern scan per publish, never unbounded memory.
/// </summary>
internal sealed class SubjectAccess
{
    internal const int CacheLimit = 4096;
    private const int StackSubjectLimit = 512;

    private readonly string[]? _allow;
    private readonly string[] _deny;
    private readonly ConcurrentDictionary<string, bool> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private int _cached;

    public SubjectAccess(IReadOnlyList<string>? allow, IReadOnlyList<string>? deny)
    {
        _allow = allow is null ? null : [.. allow];
        _deny = deny is null ? [] : [.. deny];
        _lookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int CacheCount => _cache.Count;

    /// <summary>Whether the subject (wire bytes) is allowed. Wildcards in the subject are matched as literal tokens,
    /// as nats-server does: "y.&gt;" is allowed by "y.*" and "x.&gt;", not by "y.a".</summary>
    public bool IsAllowed(ReadOnlySpan<byte> subject)
    {
        char[]? rented = null;
        Span<char> chars = subject.Length <= StackSubjectLimit
            ? stackalloc char[subject.Length]
            : (rented = System.Buffers.ArrayPool<char>.Shared.Rent(subject.Length)).AsSpan(0, subject.Length);
        Encoding.Latin1.GetChars(subject, chars);
        try
        {
            if (_lookup.TryGetValue(chars, out var cached))
                return cached;
            var allowed = Evaluate(chars);
            if (Interlocked.Increment(ref _cached) > CacheLimit)
            {
                _cache.Clear();
                Interlocked.Exchange(ref _cached, 1);
            }
            _cache[new string(chars)] = allowed;
            return allowed;
        }
        finally
        {
            if (rented is not null)
                System.Buffers.ArrayPool<char>.Shared.Return(rented);
        }
    }

    public bool IsAllowed(string subject) => IsAllowed(Encoding.Latin1.GetBytes(subject));

    private bool Evaluate(ReadOnlySpan<char> subject)
    {
        if (_allow is not null && !AnyMatches(_allow, subject))
            return false;
        return !AnyMatches(_deny, subject);
    }

    private static bool AnyMatches(string[] patterns, ReadOnlySpan<char> subject)
    {
        foreach (var pattern in patterns)
        {
            if (SubjectRouter.PatternMatches(pattern, subject))
                return true;
        }
        return false;
    }
}
