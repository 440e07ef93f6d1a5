using System.Buffers.Text;
using System.Text.Json;

namespace Platform.Gateway.Protocol;

/// <summary>The Go types nats-server decodes CONNECT and INFO fields into.</summary>
internal enum GoKind : byte
{
    String,
    Bool,
    Int64,
    Int32,
    UInt64,
    Byte,
    /// <summary>[]string</summary>
    Strings,
    /// <summary>[]byte: a base64 string, or an array of numbers 0-255.</summary>
    Bytes,
    /// <summary>*SubjectPermission: an object whose allow and deny are []string.</summary>
    Permission,
}

/// <summary>Reads one field of an object; the reader is on the (non-null) value and must end on its last token.</summary>
internal delegate bool GoFieldReader(string key, ref Utf8JsonReader reader);

/// <summary>
/// What Go's encoding/json accepts for a struct field, so a CONNECT or INFO decodes or fails exactly where
/// nats-server's does (checked on the wire against 2.9.10): null always passes (it leaves the field as it was).
/// </summary>
internal static class GoJson
{
    /// <summary>Go's encoding/json refuses nesting deeper than this.</summary>
    private const int MaxDepth = 10000;

    /// <summary>
    /// Decodes a document as Go decodes it into a struct: an object (or null, which changes nothing), null fields
    /// skipped, nothing but blanks after it. Invalid UTF-8 is replaced first, as Go replaces it in strings (outside
    /// strings the replacement is still a syntax error).
    /// </summary>
    public static bool TryDecodeObject(ReadOnlySpan<byte> json, GoFieldReader field)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json))
            json = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(json));
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
                    if (reader.TokenType != JsonTokenType.Null && !field(key, ref reader))
                        return false;
                }
            }
            else if (reader.TokenType != JsonTokenType.Null)
            {
                return false;
            }
            return !reader.Read();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a key with a lone surrogate escape, which GetString cannot decode.
            return false;
        }
    }

    /// <summary>Checks a field against a table of known fields; an unknown field is skipped, as Go skips it.</summary>
    public static bool FitsTable(string key, ref Utf8JsonReader reader, (string Name, GoKind Kind)[] fields)
    {
        foreach (var (name, kind) in fields)
        {
            if (KeyIs(key, name))
                return Fits(ref reader, kind);
        }
        reader.Skip();
        return true;
    }

    /// <summary>Whether the value at the reader fits the kind; the reader ends on the value's last token.</summary>
    public static bool Fits(ref Utf8JsonReader reader, GoKind kind)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return true;
        switch (kind)
        {
            case GoKind.String:
                return reader.TokenType == JsonTokenType.String;
            case GoKind.Bool:
                return reader.TokenType is JsonTokenType.True or JsonTokenType.False;
            case GoKind.Int64:
                return reader.TokenType == JsonTokenType.Number && Utf8Parser.TryParse(reader.ValueSpan, out long _, out int used) && used == reader.ValueSpan.Length;
            case GoKind.Int32:
                return reader.TokenType == JsonTokenType.Number && Utf8Parser.TryParse(reader.ValueSpan, out int _, out int used32) && used32 == reader.ValueSpan.Length;
            case GoKind.UInt64:
                return reader.TokenType == JsonTokenType.Number && Utf8Parser.TryParse(reader.ValueSpan, out ulong _, out int usedU) && usedU == reader.ValueSpan.Length;
            case GoKind.Byte:
                return reader.TokenType == JsonTokenType.Number && Utf8Parser.TryParse(reader.ValueSpan, out byte _, out int usedB) && usedB == reader.ValueSpan.Length;
            case GoKind.Strings:
                return ArrayOf(ref reader, GoKind.String);
            case GoKind.Bytes:
                if (reader.TokenType == JsonTokenType.String)
                    return reader.TryGetBytesFromBase64(out _);
                return ArrayOf(ref reader, GoKind.Byte);
            case GoKind.Permission:
                if (reader.TokenType != JsonTokenType.StartObject)
                    return false;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var key = reader.GetString()!;
                    reader.Read();
                    if (KeyIs(key, "allow") || KeyIs(key, "deny"))
                    {
                        if (!Fits(ref reader, GoKind.Strings))
                            return false;
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                return true;
            default:
                return false;
        }
    }

    private static bool ArrayOf(ref Utf8JsonReader reader, GoKind element)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            return false;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (!Fits(ref reader, element))
                return false;
        }
        return true;
    }

    /// <summary>
    /// Go's key matching for these ASCII names: ASCII case folding, plus the two non-ASCII letters that fold to ASCII
    /// ones (U+017F to 's', U+212A Kelvin to 'k').
    /// </summary>
    public static bool KeyIs(string key, string field)
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
}
