using System.Text.Json;

namespace Platform.Gateway.Protocol;

/// <summary>
/// An INFO a client sends: nats-server decodes it into its Info struct and otherwise ignores it, closing the connection
/// when it does not decode. The fields and their Go types are 2.9.10's (each checked on the wire with a value of the
/// wrong type).
/// </summary>
internal static class ClientInfo
{
    private static readonly (string, GoKind)[] Fields =
    [
        ("server_id", GoKind.String), ("server_name", GoKind.String), ("version", GoKind.String), ("proto", GoKind.Int64),
        ("git_commit", GoKind.String), ("go", GoKind.String), ("host", GoKind.String), ("port", GoKind.Int64),
        ("headers", GoKind.Bool), ("auth_required", GoKind.Bool), ("tls_required", GoKind.Bool), ("tls_verify", GoKind.Bool),
        ("tls_available", GoKind.Bool), ("max_payload", GoKind.Int32), ("jetstream", GoKind.Bool), ("ip", GoKind.String),
        ("client_id", GoKind.UInt64), ("client_ip", GoKind.String), ("nonce", GoKind.String), ("cluster", GoKind.String),
        ("cluster_dynamic", GoKind.Bool), ("domain", GoKind.String), ("connect_urls", GoKind.Strings),
        ("ws_connect_urls", GoKind.Strings), ("ldm", GoKind.Bool), ("import", GoKind.Permission), ("export", GoKind.Permission),
        ("lnoc", GoKind.Bool), ("info_on_connect", GoKind.Bool), ("connect_info", GoKind.Bool), ("gateway", GoKind.String),
        ("gateway_urls", GoKind.Strings), ("gateway_url", GoKind.String), ("gateway_cmd", GoKind.Byte),
        ("gateway_cmd_payload", GoKind.Bytes), ("gateway_nrp", GoKind.Bool), ("gateway_iom", GoKind.Bool),
        ("leafnode_urls", GoKind.Strings), ("remote_account", GoKind.String),
    ];

    /// <summary>Whether the INFO's JSON decodes; false closes the connection.</summary>
    public static bool Decodes(ReadOnlySpan<byte> json) => GoJson.TryDecodeObject(json, CheckField);

    private static bool CheckField(string key, ref Utf8JsonReader reader) => GoJson.FitsTable(key, ref reader, Fields);
}
