namespace Platform.Gateway.Routing;

/// <summary>Subject syntax as nats-server checks it on the wire (ADR-6).</summary>
internal static class SubjectRules
{
    /// <summary>A subscription subject: non-empty tokens, no white space, '*' and '&gt;' only as whole tokens, '&gt;' last.</summary>
    public static bool IsValidSubscribeSubject(ReadOnlySpan<byte> subject) => IsValid(subject, allowWildcards: true, allowBlanks: false);

    /// <summary>
    /// A publish subject as a pedantic client's PUB is checked: non-empty tokens and no wildcard tokens. White space is
    /// not checked, as nats-server 2.9.10 does not: the one blank a PUB subject can hold on the wire is a CR.
    /// </summary>
    public static bool IsValidPublishSubject(ReadOnlySpan<byte> subject) => IsValid(subject, allowWildcards: false, allowBlanks: true);

    private static bool IsValid(ReadOnlySpan<byte> subject, bool allowWildcards, bool allowBlanks)
    {
        if (subject.IsEmpty)
            return false;
        int tokenStart = 0;
        bool sawFullWildcard = false;
        for (int i = 0; i <= subject.Length; i++)
        {
            if (i < subject.Length && subject[i] != '.')
            {
                if (!allowBlanks && subject[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
                    return false;
                continue;
            }
            var token = subject[tokenStart..i];
            if (token.IsEmpty || sawFullWildcard)
                return false;
            if (token.Length == 1 && token[0] is (byte)'*' or (byte)'>')
            {
                if (!allowWildcards)
                    return false;
                sawFullWildcard = token[0] == '>';
            }
            tokenStart = i + 1;
        }
        return true;
    }
}
