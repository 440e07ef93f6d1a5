using System.Text;
using System.Text.Json;

namespace Platform.Gateway.Protocol;

/// <summary>
/// The CONNECT JSON, read the way nats-server's Go decoder reads it into its client options (checked on the wire
/// against 2.9.10): keys match case-insensitively, null leaves a field as it was, a value of the wrong type or
/// anything but an object (or null) is an error, unknown keys are skipped, invalid UTF-8 in strings is replaced,
/// and nesting up to 10000 levels is fine. A second CONNECT updates the options of the first.
/// </summary>
internal sealed class ConnectOptions
{
    /// <summary>Go's encoding/json refuses nesting deeper than this.</summary>
    private const int MaxDepth = 10000;

    public bool Verbose { get; set; } = true;
    public bool Pedantic { get; set; } = true;
    public bool Echo { get; set; } = true;
    public bool Headers { get; set; }
    public bool NoResponders { get; set; }
    public string? Name { get; set; }
    public string? Lang { get; set; }
    public string? Version { get; set; }
    public long Protocol { get; set; }
    public string? User { get; set; }
    public string? Pass { get; set; }
    public string? AuthToken { get; set; }
    /// <summary>Accounts are not supported: a CONNECT naming one is refused, as nats-server refuses it.</summary>
    public string? Account { get; set; }
    public bool NewAccount { get; set; }

    /// <summary>Null when the JSON does not decode: nats-server then closes the connection without a word.</summary>
    public static ConnectOptions? TryParse(ReadOnlySpan<byte> json)
    {
        var options = new ConnectOptions();
        return options.TryApply(json) ? options : null;
    }

    /// <summary>Applies a CONNECT's JSON over these options; false when it does not decode.</summary>
    public bool TryApply(ReadOnlySpan<byte> json)
    {
        byte[]? repaired = null;
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            // Go replaces invalid UTF-8 in strings with U+FFFD; outside strings the replacement is still a syntax error.
            repaired = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(json));
            json = repaired;
        }
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            if (!reader.Read())
                return false;
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var key = reader.GetString()!;
                    reader.Read();
                    if (!ReadField(ref reader, key))
                        return false;
                }
            }
            else if (reader.TokenType != JsonTokenType.Null)
            {
                reader.Skip();
                return false;
            }
            // Anything after the value but blanks is a syntax error.
            return !reader.Read();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a key with a lone surrogate escape, which GetString cannot decode.
            return false;
        }
    }

    private bool ReadField(ref Utf8JsonReader reader, string key)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return true;
        if (KeyIs(key, "verbose")) return ReadBool(ref reader, v => Verbose = v);
        if (KeyIs(key, "pedantic")) return ReadBool(ref reader, v => Pedantic = v);
        if (KeyIs(key, "echo")) return ReadBool(ref reader, v => Echo = v);
        if (KeyIs(key, "headers")) return ReadBool(ref reader, v => Headers = v);
        if (KeyIs(key, "no_responders")) return ReadBool(ref reader, v => NoResponders = v);
        if (KeyIs(key, "tls_required")) return ReadBool(ref reader, _ => { });
        if (KeyIs(key, "new_account")) return ReadBool(ref reader, v => NewAccount = v);
        if (KeyIs(key, "name")) return ReadString(ref reader, v => Name = v);
        if (KeyIs(key, "lang")) return ReadString(ref reader, v => Lang = v);
        if (KeyIs(key, "version")) return ReadString(ref reader, v => Version = v);
        if (KeyIs(key, "user")) return ReadString(ref reader, v => User = v);
        if (KeyIs(key, "pass")) return ReadString(ref reader, v => Pass = v);
        if (KeyIs(key, "auth_token")) return ReadString(ref reader, v => AuthToken = v);
        if (KeyIs(key, "account")) return ReadString(ref reader, v => Account = v);
        if (KeyIs(key, "nkey") || KeyIs(key, "jwt") || KeyIs(key, "sig")) return ReadString(ref reader, _ => { });
        if (KeyIs(key, "protocol"))
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var protocol))
                return false;
            Protocol = protocol;
            return true;
        }
        if (KeyIs(key, "import") || KeyIs(key, "export"))
            return SkipSubjectPermission(ref reader);
        reader.Skip();
        return true;
    }

    private static bool ReadBool(ref Utf8JsonReader reader, Action<bool> set)
    {
        if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
            return false;
        set(reader.GetBoolean());
        return true;
    }

    private static bool ReadString(ref Utf8JsonReader reader, Action<string> set)
    {
        if (reader.TokenType != JsonTokenType.String)
            return false;
        string value;
        try
        {
            value = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // A lone surrogate escape, which Go replaces with U+FFFD: keep the escaped text rather than refuse.
            value = Encoding.UTF8.GetString(reader.ValueSpan);
        }
        set(value);
        return true;
    }

    /// <summary>import/export: an object whose allow and deny are lists of strings.</summary>
    private static bool SkipSubjectPermission(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            return false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            if (reader.TokenType == JsonTokenType.Null)
                continue;
            if (!KeyIs(key, "allow") && !KeyIs(key, "deny"))
            {
                reader.Skip();
                continue;
            }
            if (reader.TokenType != JsonTokenType.StartArray)
                return false;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
                    return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Go's key matching for these ASCII names: ASCII case folding, plus the two non-ASCII letters that fold to ASCII
    /// ones (U+017F to 's', U+212A Kelvin to 'k').
    /// </summary>
    private static bool KeyIs(string key, string field)
    {
        if (key.Length != field.Length)
            return false;
        for (int i = 0; i < key.Length; i++)
        {
            char k = key[i], f = field[i];
            if (k == f || (k is >= 'A' and <= 'Z' && k + 32 == f))
                continue;
            if ((k == '\u017F' && f == 's') || (k == '\u212A' && f == 'k'))
                continue;
            return false;
        }
        return true;
    }

    /// <summary>Whether an INFO's JSON decodes: an object or null, as nats-server needs to ignore it.</summary>
    public static bool IsObjectOrNull(ReadOnlySpan<byte> json)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json))
            json = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(json));
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            if (!reader.Read() || reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.Null))
                return false;
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
