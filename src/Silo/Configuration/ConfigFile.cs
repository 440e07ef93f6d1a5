using System.Globalization;
using System.Text;

namespace Platform.Silo.Configuration;

/// <summary>
/// Reads nats-server's configuration format: <c>key: value</c>, <c>key = value</c> or <c>key value</c>, nested
/// <c>{ }</c> blocks, <c>[ ]</c> arrays, quoted or bare strings, numbers with size suffixes, booleans, and
/// <c>#</c> or <c>//</c> comments. Keys are case-insensitive. Errors name the file and line.
/// </summary>
internal static class ConfigFile
{
    public static Dictionary<string, object> Load(string path) => Parse(File.ReadAllText(path), path);

    public static Dictionary<string, object> Parse(string text, string fileName)
    {
        var reader = new Reader(text, fileName);
        var map = reader.ReadMapBody(topLevel: true);
        return map;
    }

    /// <summary>A size as nats-server reads one: 1MB, 64M, 2GiB (the --memory_budget flag reads it too).</summary>
    internal static bool TryParseSize(string raw, out long value)
    {
        value = 0;
        int i = 0;
        while (i < raw.Length && char.IsDigit(raw[i])) i++;
        if (i == 0 || !long.TryParse(raw.AsSpan(0, i), CultureInfo.InvariantCulture, out var n))
            return false;
        long unit = raw[i..].ToUpperInvariant() switch
        {
            // As nats-server reads them: a bare letter is decimal, "B" or "iB" after it binary (1MB is 1048576).
            "K" => 1000, "KB" or "KI" or "KIB" => 1024,
            "M" => 1000 * 1000, "MB" or "MI" or "MIB" => 1024 * 1024,
            "G" => 1000L * 1000 * 1000, "GB" or "GI" or "GIB" => 1024L * 1024 * 1024,
            "T" => 1000L * 1000 * 1000 * 1000, "TB" or "TI" or "TIB" => 1024L * 1024 * 1024 * 1024,
            _ => 0,
        };
        value = n * unit;
        return unit != 0;
    }

    private sealed class Reader(string text, string fileName)
    {
        private int _pos;
        private int _line = 1;

        public Dictionary<string, object> ReadMapBody(bool topLevel)
        {
            var map = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
            while (true)
            {
                SkipSpaceAndComments();
                if (_pos >= text.Length)
                {
                    if (!topLevel) throw Error("unexpected end of file, missing '}'");
                    return map;
                }
                if (text[_pos] == '}')
                {
                    if (topLevel) throw Error("unexpected '}'");
                    _pos++;
                    return map;
                }
                int keyLine = _line;
                var key = ReadKey();
                SkipInlineSpace();
                if (_pos < text.Length && (text[_pos] == ':' || text[_pos] == '='))
                {
                    _pos++;
                    SkipInlineSpace();
                }
                var value = ReadValue();
                map[key] = new ConfigValue(value, fileName, keyLine);
                SkipInlineSpace();
                if (_pos < text.Length && (text[_pos] == ',' || text[_pos] == ';'))
                    _pos++;
            }
        }

        private string ReadKey()
        {
            if (text[_pos] is '"' or '\'')
                return ReadQuoted();
            int start = _pos;
            while (_pos < text.Length && !char.IsWhiteSpace(text[_pos]) && text[_pos] is not (':' or '=' or '{' or '['))
                _pos++;
            if (_pos == start)
                throw Error($"expected a key, found '{text[_pos]}'");
            return text[start.._pos];
        }

        private object ReadValue()
        {
            if (_pos >= text.Length)
                throw Error("missing value");
            char c = text[_pos];
            if (c == '{')
            {
                _pos++;
                return ReadMapBody(topLevel: false);
            }
            if (c == '[')
            {
                _pos++;
                var list = new List<object>();
                while (true)
                {
                    SkipSpaceAndComments();
                    if (_pos >= text.Length) throw Error("unexpected end of file, missing ']'");
                    if (text[_pos] == ']')
                    {
                        _pos++;
                        return list;
                    }
                    list.Add(new ConfigValue(ReadValue(), fileName, _line));
                    SkipSpaceAndComments();
                    if (_pos < text.Length && text[_pos] == ',')
                        _pos++;
                }
            }
            if (c is '"' or '\'')
                return ReadQuoted();
            int start = _pos;
            while (_pos < text.Length && text[_pos] is not ('\n' or '\r' or ',' or ';' or '}' or ']' or '#')
                   && !(text[_pos] == '/' && _pos + 1 < text.Length && text[_pos + 1] == '/'))
                _pos++;
            return Scalar(text[start.._pos].Trim());
        }

        private static object Scalar(string raw)
        {
            switch (raw.ToLowerInvariant())
            {
                case "true" or "yes" or "on": return true;
                case "false" or "no" or "off": return false;
            }
            if (long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
                return number;
            if (ConfigFile.TryParseSize(raw, out var size))
                return size;
            return raw;
        }

        private string ReadQuoted()
        {
            char quote = text[_pos++];
            var sb = new StringBuilder();
            while (_pos < text.Length && text[_pos] != quote)
            {
                if (text[_pos] == '\n') throw Error("unterminated string");
                if (text[_pos] == '\\' && quote == '"' && _pos + 1 < text.Length)
                {
                    _pos++;
                    sb.Append(text[_pos] switch { 'n' => '\n', 't' => '\t', var other => other });
                }
                else
                {
                    sb.Append(text[_pos]);
                }
                _pos++;
            }
            if (_pos >= text.Length) throw Error("unterminated string");
            _pos++;
            return sb.ToString();
        }

        private void SkipInlineSpace()
        {
            while (_pos < text.Length && text[_pos] is ' ' or '\t')
                _pos++;
        }

        private void SkipSpaceAndComments()
        {
            while (_pos < text.Length)
            {
                char c = text[_pos];
                if (c == '\n')
                {
                    _line++;
                    _pos++;
                }
                else if (char.IsWhiteSpace(c) || c is ',' or ';')
                {
                    _pos++;
                }
                else if (c == '#' || (c == '/' && _pos + 1 < text.Length && text[_pos + 1] == '/'))
                {
                    while (_pos < text.Length && text[_pos] != '\n') _pos++;
                }
                else
                {
                    return;
                }
            }
        }

        private ConfigException Error(string message) => new($"{fileName}:{_line}: {message}");
    }
}

/// <summary>A value with where it came from, so a bad setting can be reported with its file and line.</summary>
internal sealed record ConfigValue(object Value, string File, int Line)
{
    public override string ToString() => Value.ToString() ?? "";
}

internal sealed class ConfigException(string message) : Exception(message);
