using System.Text;

namespace Platform.Grains.Subjects;

/// <summary>
/// NATS subject matching: subjects are dot-separated tokens; in a pattern a token that is exactly <c>*</c> matches
/// one token and a last token that is exactly <c>&gt;</c> matches one or more tokens. A token that merely contains
/// <c>*</c> or <c>&gt;</c> (such as <c>a*</c>) is literal, as in nats-server.
/// </summary>
internal static class SubjectMatch
{
    private const int StackLimit = 256;

    public static bool Matches(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> pattern) =>
        MatchCore(subject, pattern, (byte)'.', (byte)'*', (byte)'>');

    public static bool Matches(ReadOnlySpan<char> subject, ReadOnlySpan<char> pattern) =>
        MatchCore(subject, pattern, '.', '*', '>');

    public static bool Matches(string subject, string pattern) => Matches(subject.AsSpan(), pattern.AsSpan());

    /// <summary>Matches a stored UTF-8 subject against a pattern held as a string, without allocating for short patterns.</summary>
    public static bool Matches(ReadOnlySpan<byte> subject, string pattern)
    {
        int max = Encoding.UTF8.GetMaxByteCount(pattern.Length);
        Span<byte> buffer = max <= StackLimit ? stackalloc byte[StackLimit] : new byte[max];
        int written = Encoding.UTF8.GetBytes(pattern, buffer);
        return Matches(subject, buffer[..written]);
    }

    /// <summary>
    /// True for a subject with an empty token (<c>a..b</c>, <c>.a</c>, <c>a.</c>, or empty): nats-server's sublist
    /// matches such a subject against nothing.
    /// </summary>
    public static bool HasEmptyToken(ReadOnlySpan<byte> subject)
        => subject.IsEmpty || subject[0] == '.' || subject[^1] == '.' || subject.IndexOf(".."u8) >= 0;

    /// <summary>True when some token is exactly <c>*</c> or <c>&gt;</c>.</summary>
    public static bool HasWildcards(ReadOnlySpan<char> pattern)
    {
        while (true)
        {
            int dot = pattern.IndexOf('.');
            var token = dot < 0 ? pattern : pattern[..dot];
            if (token.Length == 1 && (token[0] == '*' || token[0] == '>'))
                return true;
            if (dot < 0)
                return false;
            pattern = pattern[(dot + 1)..];
        }
    }

    /// <summary>True for the pattern that matches every subject.</summary>
    public static bool IsFullWildcard(ReadOnlySpan<char> pattern) => pattern.Length == 1 && pattern[0] == '>';

    /// <summary>
    /// nats-server's rules: not empty, no empty token, no whitespace; with wildcards allowed <c>&gt;</c> may only be
    /// the last token, without them no token may be a wildcard.
    /// </summary>
    public static bool IsValidSubject(string subject, bool allowWildcards)
    {
        if (string.IsNullOrEmpty(subject))
            return false;
        var rest = subject.AsSpan();
        while (true)
        {
            int dot = rest.IndexOf('.');
            var token = dot < 0 ? rest : rest[..dot];
            if (token.IsEmpty || token.ContainsAny(" \t\r\n\f"))
                return false;
            if (token.Length == 1 && (token[0] == '*' || token[0] == '>'))
            {
                if (!allowWildcards)
                    return false;
                if (token[0] == '>' && dot >= 0)
                    return false;
            }
            if (dot < 0)
                return true;
            rest = rest[(dot + 1)..];
        }
    }

    /// <summary>A subject a message may be published on: not empty, no empty token, no whitespace, no wildcard token.</summary>
    public static bool IsValidLiteral(ReadOnlySpan<byte> subject)
    {
        if (subject.IsEmpty)
            return false;
        while (true)
        {
            int dot = subject.IndexOf((byte)'.');
            var token = dot < 0 ? subject : subject[..dot];
            if (token.IsEmpty || token.IndexOfAny(" \t\r\n\f"u8) >= 0 || (token.Length == 1 && (token[0] == '*' || token[0] == '>')))
                return false;
            if (dot < 0)
                return true;
            subject = subject[(dot + 1)..];
        }
    }

    /// <summary>
    /// True when some subject is matched by both patterns (literal subjects are patterns too), which is what makes two
    /// streams' subjects conflict.
    /// </summary>
    public static bool Overlaps(string a, string b)
    {
        var x = a.AsSpan();
        var y = b.AsSpan();
        while (true)
        {
            int dx = x.IndexOf('.');
            int dy = y.IndexOf('.');
            var tx = dx < 0 ? x : x[..dx];
            var ty = dy < 0 ? y : y[..dy];
            // Both sides still have a token here, which is all '>' needs; what follows it is free.
            if (IsToken(tx, '>') || IsToken(ty, '>'))
                return true;
            if (!IsToken(tx, '*') && !IsToken(ty, '*') && !tx.SequenceEqual(ty))
                return false;
            if (dx < 0 || dy < 0)
                return dx < 0 && dy < 0;
            x = x[(dx + 1)..];
            y = y[(dy + 1)..];
        }
    }

    /// <summary>
    /// True when every subject <paramref name="pattern"/> matches is also matched by <paramref name="of"/> (nats-server's
    /// subset match): a consumer filter must be a subset of a stream subject, and nothing may be a subset of the API.
    /// </summary>
    public static bool IsSubsetOf(string pattern, string of)
    {
        var x = pattern.AsSpan();
        var y = of.AsSpan();
        while (true)
        {
            int dx = x.IndexOf('.');
            int dy = y.IndexOf('.');
            var tx = dx < 0 ? x : x[..dx];
            var ty = dy < 0 ? y : y[..dy];
            if (IsToken(ty, '>'))
                return true;
            if (IsToken(tx, '>'))
                return false;
            if (!IsToken(ty, '*') && (IsToken(tx, '*') || !tx.SequenceEqual(ty)))
                return false;
            if (dx < 0 || dy < 0)
                return dx < 0 && dy < 0;
            x = x[(dx + 1)..];
            y = y[(dy + 1)..];
        }
    }

    private static bool IsToken(ReadOnlySpan<char> token, char c) => token.Length == 1 && token[0] == c;

    private static bool MatchCore<T>(ReadOnlySpan<T> subject, ReadOnlySpan<T> pattern, T dot, T star, T gt)
        where T : IEquatable<T>
    {
        if (subject.IsEmpty || pattern.IsEmpty)
            return false;
        while (true)
        {
            int ps = pattern.IndexOf(dot);
            int ss = subject.IndexOf(dot);
            var pt = ps < 0 ? pattern : pattern[..ps];
            var st = ss < 0 ? subject : subject[..ss];
            if (pt.Length == 1 && pt[0].Equals(gt))
                return ps < 0;
            if (!(pt.Length == 1 && pt[0].Equals(star)) && !pt.SequenceEqual(st))
                return false;
            if (ps < 0 || ss < 0)
                return ps < 0 && ss < 0;
            pattern = pattern[(ps + 1)..];
            subject = subject[(ss + 1)..];
        }
    }
}
