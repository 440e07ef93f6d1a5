using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.Gateway.Protocol;

/// <summary>The CONNECT JSON. Omitted booleans keep nats-server's defaults (verbose, pedantic and echo on).</summary>
internal sealed class ConnectOptions
{
    [JsonPropertyName("verbose")] public bool Verbose { get; set; } = true;
    [JsonPropertyName("pedantic")] public bool Pedantic { get; set; } = true;
    [JsonPropertyName("echo")] public bool Echo { get; set; } = true;
    [JsonPropertyName("headers")] public bool Headers { get; set; }
    [JsonPropertyName("no_responders")] public bool NoResponders { get; set; }
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("lang")] public string? Lang { get; set; }
    [JsonPropertyName("version")] public string? Version { get; set; }
    [JsonPropertyName("protocol")] public int Protocol { get; set; }
    [JsonPropertyName("user")] public string? User { get; set; }
    [JsonPropertyName("pass")] public string? Pass { get; set; }
    [JsonPropertyName("auth_token")] public string? AuthToken { get; set; }

    /// <summary>Null when the JSON is malformed: nats-server then closes the connection without a word.</summary>
    public static ConnectOptions? TryParse(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, ProtocolJsonContext.Default.ConnectOptions);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSerializable(typeof(ConnectOptions))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;
