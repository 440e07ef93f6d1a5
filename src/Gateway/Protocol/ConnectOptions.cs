using System.Text;
using System.Text.Json;

namespace Platform.Gateway.Protocol;

/// <summary>
/// The CONNECT JSON, read the way nats-server's Go decoder reads it into its client options (checked on the wire
/// against 2.9.10, see <see cref="GoJson"/>): keys match case-insensitively, null leaves a field as it was, a value of
/// the wrong type or anything but an object (or null) is an error, unknown keys are skipped, invalid UTF-8 in strings
/// is replaced, and deep nesting is fine. A second CONNECT updates the options of the first.
/// </summary>
internal sealed class ConnectOptions
{
    /// <summary>Fields nats-server reads that the silo does not use: only their types are checked.</summary>
    private static readonly (string, GoKind)[] CheckedOnly =
    [
        ("tls_required", GoKind.Bool), ("nkey", GoKind.String), ("jwt", GoKind.String), ("sig", GoKind.String),
        ("import", GoKind.Permission), ("export", GoKind.Permission),
    ];

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
    public bool TryApply(ReadOnlySpan<byte> json) => GoJson.TryDecodeObject(json, ReadField);

    private bool ReadField(string key, ref Utf8JsonReader reader)
    {
        if (GoJson.KeyIs(key, "verbose")) return ReadBool(ref reader, v => Verbose = v);
        if (GoJson.KeyIs(key, "pedantic")) return ReadBool(ref reader, v => Pedantic = v);
        if (GoJson.KeyIs(key, "echo")) return ReadBool(ref reader, v => Echo = v);
        if (GoJson.KeyIs(key, "headers")) return ReadBool(ref reader, v => Headers = v);
        if (GoJson.KeyIs(key, "no_responders")) return ReadBool(ref reader, v => NoResponders = v);
        if (GoJson.KeyIs(key, "new_account")) return ReadBool(ref reader, v => NewAccount = v);
        if (GoJson.KeyIs(key, "name")) return ReadString(ref reader, v => Name = v);
        if (GoJson.KeyIs(key, "lang")) return ReadString(ref reader, v => Lang = v);
        if (GoJson.KeyIs(key, "version")) return ReadString(ref reader, v => Version = v);
        if (GoJson.KeyIs(key, "user")) return ReadString(ref reader, v => User = v);
        if (GoJson.KeyIs(key, "pass")) return ReadString(ref reader, v => Pass = v);
        if (GoJson.KeyIs(key, "auth_token")) return ReadString(ref reader, v => AuthToken = v);
        if (GoJson.KeyIs(key, "account")) return ReadString(ref reader, v => Account = v);
        if (GoJson.KeyIs(key, "protocol"))
        {
            if (!GoJson.Fits(ref reader, GoKind.Int64))
                return false;
            Protocol = reader.GetInt64();
            return true;
        }
        return GoJson.FitsTable(key, ref reader, CheckedOnly);
    }

    private static bool ReadBool(ref Utf8JsonReader reader, Action<bool> set)
    {
        if (!GoJson.Fits(ref reader, GoKind.Bool))
            return false;
        set(reader.GetBoolean());
        return true;
    }

    private static bool ReadString(ref Utf8JsonReader reader, Action<string> set)
    {
        if (!GoJson.Fits(ref reader, GoKind.String))
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
}
