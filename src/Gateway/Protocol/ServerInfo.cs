using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Platform.Gateway.Protocol;

/// <summary>
/// The INFO line. Everything but the per-client fields is rendered once; each connection appends its id and address.
/// </summary>
internal sealed class ServerInfo
{
    /// <summary>Clients switch features on by this version; we implement 2.10 semantics.</summary>
    public const string ProtocolVersion = "2.10.0";
    public static readonly string ProductVersion = typeof(ServerInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private readonly byte[] _prefix;

    public ServerInfo(NatsOptions options, int port)
    {
        ServerId = NewServerId();
        ServerName = string.IsNullOrEmpty(options.ServerName) ? ServerId : options.ServerName;
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("server_id", ServerId);
            json.WriteString("server_name", ServerName);
            json.WriteString("version", ProtocolVersion);
            json.WriteString("platform_version", ProductVersion);
            json.WriteNumber("proto", 1);
            json.WriteString("host", options.Host);
            json.WriteNumber("port", port);
            json.WriteBoolean("headers", true);
            if (options.AuthRequired)
                json.WriteBoolean("auth_required", true);
            if (options.Tls is { } tls)
            {
                json.WriteBoolean(options.AllowNonTls ? "tls_available" : "tls_required", true);
                if (tls.Verify)
                    json.WriteBoolean("tls_verify", true);
            }
            json.WriteNumber("max_payload", options.MaxPayload);
            json.WriteBoolean("jetstream", options.JetStream);
            json.Flush();
        }
        // The object is left open: each client's fields follow.
        _prefix = buffer.WrittenSpan.ToArray();
    }

    public string ServerId { get; }
    public string ServerName { get; }

    /// <summary>The cluster fields that follow the client's, as nats-server orders them; empty for a single silo.</summary>
    private string _cluster = "";

    /// <summary>Sets "cluster" and "connect_urls" (every silo's client host:port) for INFOs rendered from now on.</summary>
    public void SetCluster(string name, IReadOnlyList<string> connectUrls)
        => Volatile.Write(ref _cluster, $",\"cluster\":{JsonSerializer.Serialize(name)},\"connect_urls\":{JsonSerializer.Serialize(connectUrls)}");

    public byte[] Render(ulong clientId, IPAddress? clientIp, bool lameDuck = false)
    {
        var ldm = lameDuck ? ",\"ldm\":true" : "";
        var cluster = Volatile.Read(ref _cluster);
        var suffix = Encoding.UTF8.GetBytes($",\"client_id\":{clientId},\"client_ip\":\"{clientIp}\"{cluster}{ldm}}} \r\n");
        var line = new byte[5 + _prefix.Length + suffix.Length];
        "INFO "u8.CopyTo(line);
        _prefix.CopyTo(line, 5);
        suffix.CopyTo(line, 5 + _prefix.Length);
        return line;
    }

    /// <summary>56 base32 characters starting with N, like a nats-server server public nkey.</summary>
    private static string NewServerId()
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        Span<byte> random = stackalloc byte[55];
        RandomNumberGenerator.Fill(random);
        Span<char> id = stackalloc char[56];
        id[0] = 'N';
        for (int i = 0; i < random.Length; i++)
            id[i + 1] = alphabet[random[i] & 31];
        return new string(id);
    }
}
