using System.Buffers;
using System.Text;

namespace Platform.Grains.Subjects;

/// <summary>
/// nats-server's subject transform (stream subject_transform, republish, mirror and source subject_transforms): a
/// source pattern and a destination whose tokens are literals, <c>&gt;</c>, <c>$n</c> or mustache functions over the
/// source's <c>*</c> wildcards: <c>{{wildcard(n)}}</c>, <c>{{partition(count,n...)}}</c> (FNV-1a of the tokens, modulo
/// count), <c>{{split(n,sep)}}</c>, <c>{{splitFromLeft(n,pos)}}</c>, <c>{{splitFromRight(n,pos)}}</c>,
/// <c>{{sliceFromLeft(n,size)}}</c>, <c>{{sliceFromRight(n,size)}}</c>, <c>{{left(n,len)}}</c>, <c>{{right(n,len)}}</c>.
/// Parsed once; applying it to a subject writes into the caller's span and allocates nothing.
/// </summary>
internal sealed class SubjectTransform
{
    private const int MaxStackTokens = 64;

    private readonly byte[] _source;
    private readonly Part[] _parts;
    private readonly bool _identity;
    private readonly int _sourceTokens;
    private readonly int _literalBytes;

    public string Source { get; }
    public string Destination { get; }

    private SubjectTransform(string source, string destination, Part[] parts, int sourceTokens)
    {
        Source = source;
        Destination = destination;
        _source = Encoding.UTF8.GetBytes(source);
        _parts = parts;
        _sourceTokens = sourceTokens;
        _identity = source == ">" && destination == ">";
        foreach (var part in parts)
            _literalBytes += part.Literal?.Length ?? 0;
    }

    /// <summary>
    /// Parses a transform, or says why it is not one, in nats-server's words (e.g. "invalid mapping destination:
    /// wildcard index out of range in {{wildcard(2)}}"). An empty source is "&gt;".
    /// </summary>
    public static SubjectTransform? Create(string? source, string destination, out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(source))
            source = ">";
        if (!Info(source, out var sourceTokens, out int wildcards, out bool sourceFull)
            || !Info(destination, out var destTokens, out int destWildcards, out bool destFull)
            || destWildcards > 0 || sourceFull != destFull)
        {
            error = "invalid subject";
            return null;
        }
        // Wildcard n (1-based) is source token positions[n]; nats-server reads a missing n as token 0.
        var positions = new List<int> { 0 };
        for (int i = 0; i < sourceTokens.Length; i++)
            if (sourceTokens[i] == "*")
                positions.Add(i);
        var parts = new Part[destTokens.Length];
        for (int i = 0; i < destTokens.Length; i++)
        {
            var token = destTokens[i];
            if (ParseToken(token, out var part) is { } bad)
            {
                error = $"invalid mapping destination: {bad} in {token}";
                return null;
            }
            if (part.Kind is Kind.Literal or Kind.FullWildcard)
            {
                parts[i] = part;
                continue;
            }
            var indexes = part.Tokens!;
            for (int k = 0; k < indexes.Length; k++)
            {
                if (wildcards == 0 || indexes[k] > wildcards)
                {
                    error = wildcards == 0
                        ? $"invalid mapping destination: wildcard index out of range in {token}"
                        : $"invalid mapping destination: wildcard index out of range in {token}: [{indexes[k]}]";
                    return null;
                }
                indexes[k] = indexes[k] >= 1 ? positions[indexes[k]] : 0;
            }
            parts[i] = part;
        }
        return new SubjectTransform(source, destination, parts, sourceTokens.Length);
    }

    /// <summary>
    /// A pattern every transformed subject matches: the destination with each function as "*", or "&gt;" when a
    /// function may make several tokens of one (split, slice).
    /// </summary>
    public string DestinationPattern()
    {
        var tokens = new string[_parts.Length];
        for (int i = 0; i < _parts.Length; i++)
        {
            var part = _parts[i];
            tokens[i] = part.Kind switch
            {
                Kind.Literal => Encoding.UTF8.GetString(part.Literal!),
                Kind.FullWildcard => ">",
                Kind.Wildcard or Kind.Partition or Kind.Left or Kind.Right => "*",
                _ => "",
            };
            if (tokens[i].Length == 0)
                return ">";
        }
        return string.Join('.', tokens);
    }

    /// <summary>Whether a literal subject matches the source, so that the transform applies to it.</summary>
    public bool Matches(ReadOnlySpan<byte> subject) => SubjectMatch.Matches(subject, _source);

    /// <summary>Room enough for the transform of a subject of this many bytes.</summary>
    public int MaxLength(int subjectLength) => _literalBytes + _parts.Length * (2 * subjectLength + 12) + subjectLength;

    /// <summary>
    /// Writes the transformed subject into <paramref name="destination"/> (at least <see cref="MaxLength"/> bytes);
    /// false, writing nothing, when the subject does not match the source.
    /// </summary>
    public bool TryTransform(ReadOnlySpan<byte> subject, Span<byte> destination, out int written)
    {
        written = 0;
        if (!Matches(subject))
            return false;
        if (_identity)
        {
            subject.CopyTo(destination);
            written = subject.Length;
            return true;
        }
        int count = subject.Count((byte)'.') + 1;
        Range[]? rented = count > MaxStackTokens ? ArrayPool<Range>.Shared.Rent(count) : null;
        Span<Range> tokens = rented ?? stackalloc Range[MaxStackTokens];
        for (int t = 0, start = 0; t < count; t++)
        {
            int dot = subject[start..].IndexOf((byte)'.');
            int end = dot < 0 ? subject.Length : start + dot;
            tokens[t] = new Range(start, end);
            start = end + 1;
        }
        var output = new Output(destination);
        for (int i = 0; i < _parts.Length; i++)
        {
            ref readonly var part = ref _parts[i];
            if (part.Kind == Kind.FullWildcard)
            {
                // The tokens the source's ">" matched, from its position on.
                if (i > 0) output.Dot();
                for (int t = _sourceTokens - 1; t < count; t++)
                {
                    if (t > _sourceTokens - 1) output.Dot();
                    output.Write(subject[tokens[t]]);
                }
                break;
            }
            if (i > 0) output.Dot();
            Apply(in part, subject, tokens, ref output);
        }
        if (rented is not null)
            ArrayPool<Range>.Shared.Return(rented);
        written = output.Length;
        return true;
    }

    /// <summary>The transformed subject, or null when it does not match: for control paths, it allocates.</summary>
    public string? Transform(string subject)
    {
        var bytes = Encoding.UTF8.GetBytes(subject);
        var buffer = new byte[MaxLength(bytes.Length)];
        return TryTransform(bytes, buffer, out int n) ? Encoding.UTF8.GetString(buffer, 0, n) : null;
    }

    private static void Apply(in Part part, scoped ReadOnlySpan<byte> subject, scoped ReadOnlySpan<Range> tokens, ref Output output)
    {
        if (part.Kind == Kind.Literal)
        {
            output.Write(part.Literal);
            return;
        }
        var token = subject[tokens[part.Tokens![0]]];
        int n = part.Number;
        switch (part.Kind)
        {
            case Kind.Wildcard:
                output.Write(token);
                break;
            case Kind.Partition:
                uint hash = 2166136261;
                foreach (int index in part.Tokens)
                    foreach (byte b in subject[tokens[index]])
                        hash = (hash ^ b) * 16777619;
                output.Number(hash % (uint)n);
                break;
            case Kind.SplitFromLeft:
                if (n > 0 && n < token.Length) { output.Write(token[..n]); output.Dot(); output.Write(token[n..]); }
                else output.Write(token);
                break;
            case Kind.SplitFromRight:
                if (n > 0 && n < token.Length) { output.Write(token[..^n]); output.Dot(); output.Write(token[^n..]); }
                else output.Write(token);
                break;
            case Kind.SliceFromLeft:
                if (n > 0 && n < token.Length)
                {
                    for (int i = 0; i < token.Length; i += n)
                    {
                        if (i > 0) output.Dot();
                        output.Write(token[i..Math.Min(i + n, token.Length)]);
                    }
                }
                else output.Write(token);
                break;
            case Kind.SliceFromRight:
                if (n > 0 && n < token.Length)
                {
                    int first = token.Length % n;
                    if (first > 0) { output.Write(token[..first]); output.Dot(); }
                    for (int i = first; i < token.Length; i += n)
                    {
                        if (i > first) output.Dot();
                        output.Write(token.Slice(i, n));
                    }
                }
                else output.Write(token);
                break;
            case Kind.Split:
                // Empty pieces (separators at the ends or side by side) leave no empty tokens.
                bool any = false;
                var rest = token;
                while (true)
                {
                    int at = rest.IndexOf(part.Literal);
                    var piece = at < 0 ? rest : rest[..at];
                    if (!piece.IsEmpty)
                    {
                        if (any) output.Dot();
                        output.Write(piece);
                        any = true;
                    }
                    if (at < 0) break;
                    rest = rest[(at + part.Literal!.Length)..];
                }
                break;
            case Kind.Left:
                output.Write(n > 0 && n < token.Length ? token[..n] : token);
                break;
            case Kind.Right:
                output.Write(n > 0 && n < token.Length ? token[^n..] : token);
                break;
        }
    }

    private static bool Info(string subject, out string[] tokens, out int wildcards, out bool full)
    {
        tokens = subject.Split('.');
        wildcards = 0;
        full = false;
        foreach (var t in tokens)
        {
            if (t.Length == 0 || full)
                return false;
            if (t == ">") full = true;
            else if (t == "*") wildcards++;
        }
        return true;
    }

    /// <summary>One destination token; null when it parses, else what is wrong with it.</summary>
    private static string? ParseToken(string token, out Part part)
    {
        part = new Part(Kind.Literal, Encoding.UTF8.GetBytes(token), null, 0);
        if (token == ">")
        {
            part = new Part(Kind.FullWildcard, null, null, 0);
            return null;
        }
        if (token.Length > 1 && token[0] == '$')
        {
            // $n is the old spelling of wildcard(n); other tokens starting with $ are literals.
            if (int.TryParse(token.AsSpan(1), out int index))
                part = new Part(Kind.Wildcard, null, [index], 0);
            return null;
        }
        if (token.Length <= 4 || !token.StartsWith("{{", StringComparison.Ordinal) || !token.EndsWith("}}", StringComparison.Ordinal))
            return null;
        var body = token.AsSpan(2, token.Length - 4).Trim();
        int open = body.IndexOf('(');
        if (open < 0 || body[^1] != ')')
            return "unknown function";
        var name = body[..open].Trim().ToString();
        var args = body[(open + 1)..^1].ToString().Split(',');
        for (int i = 0; i < args.Length; i++)
            args[i] = args[i].Trim();
        switch (name.ToLowerInvariant())
        {
            case "wildcard":
                if (args is [""]) return "not enough arguments passed to the function";
                if (args.Length > 1) return "too many arguments passed to the function";
                if (!int.TryParse(args[0], out int w)) return "function argument is invalid or in the wrong format";
                part = new Part(Kind.Wildcard, null, [w], 0);
                return null;
            case "partition":
                if (args.Length < 2) return "not enough arguments passed to the function";
                if (!int.TryParse(args[0], out int count)) return "function argument is invalid or in the wrong format";
                var indexes = new int[args.Length - 1];
                for (int i = 1; i < args.Length; i++)
                    if (!int.TryParse(args[i], out indexes[i - 1])) return "function argument is invalid or in the wrong format";
                // A partition count of zero or less can only fail at run time in nats-server; refused here.
                if (count <= 0) return "function argument is invalid or in the wrong format";
                part = new Part(Kind.Partition, null, indexes, count);
                return null;
            case "split":
                if (args.Length < 2) return "not enough arguments passed to the function";
                if (args.Length > 2) return "too many arguments passed to the function";
                if (!int.TryParse(args[0], out int s) || args[1].Length == 0 || args[1].Contains(' ') || args[1].Contains('.'))
                    return "function argument is invalid or in the wrong format";
                part = new Part(Kind.Split, Encoding.UTF8.GetBytes(args[1]), [s], 0);
                return null;
        }
        Kind kind = name.ToLowerInvariant() switch
        {
            "splitfromleft" => Kind.SplitFromLeft,
            "splitfromright" => Kind.SplitFromRight,
            "slicefromleft" => Kind.SliceFromLeft,
            "slicefromright" => Kind.SliceFromRight,
            "left" => Kind.Left,
            "right" => Kind.Right,
            _ => Kind.Literal,
        };
        if (kind == Kind.Literal)
            return "unknown function";
        if (args.Length < 2) return "not enough arguments passed to the function";
        if (args.Length > 2) return "too many arguments passed to the function";
        if (!int.TryParse(args[0], out int at) || !int.TryParse(args[1], out int number))
            return "function argument is invalid or in the wrong format";
        part = new Part(kind, null, [at], number);
        return null;
    }

    private enum Kind : byte { Literal, FullWildcard, Wildcard, Partition, Split, SplitFromLeft, SplitFromRight, SliceFromLeft, SliceFromRight, Left, Right }

    /// <summary>A destination token: a literal (or split's separator), the source token positions it reads, a number.</summary>
    private readonly record struct Part(Kind Kind, byte[]? Literal, int[]? Tokens, int Number);

    private ref struct Output(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;
        public int Length { get; private set; }

        public void Write(scoped ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_buffer[Length..]);
            Length += bytes.Length;
        }

        public void Dot() => _buffer[Length++] = (byte)'.';

        public void Number(uint value)
        {
            System.Buffers.Text.Utf8Formatter.TryFormat(value, _buffer[Length..], out int n);
            Length += n;
        }
    }
}
