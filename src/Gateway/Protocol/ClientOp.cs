using System.Buffers;

namespace Platform.Gateway.Protocol;

internal enum ClientOpKind : byte
{
    None,
    Connect,
    Pub,
    HPub,
    Sub,
    Unsub,
    Ping,
    Pong,
    /// <summary>Client-sent +OK: accepted and ignored, as nats-server does.</summary>
    Ignored,
    /// <summary>Client-sent INFO: ignored when its JSON is valid, else the connection is closed.</summary>
    Info,
    /// <summary>Client-sent HMSG: an empty message to no subject, acknowledged to a verbose client and delivered nowhere.</summary>
    HMsg,
    /// <summary>Recognized by the parser only, never returned: a client's -ERR closes the connection.</summary>
    Err,
}

/// <summary>
/// One parsed client operation. Spans point into the read buffer (or the parser's scratch line) and are valid
/// only until the next parse call: whoever needs the bytes later copies them.
/// </summary>
internal ref struct ClientOp
{
    public ClientOpKind Kind;
    public ReadOnlySpan<byte> Subject;
    public ReadOnlySpan<byte> Reply;
    public ReadOnlySpan<byte> Queue;
    public ReadOnlySpan<byte> Sid;
    /// <summary>UNSUB max; 0 when absent.</summary>
    public long Max;
    /// <summary>HPUB header length; the headers are the first HeaderLength bytes of Payload.</summary>
    public int HeaderLength;
    /// <summary>PUB/HPUB message bytes (headers then payload), or CONNECT or INFO JSON.</summary>
    public ReadOnlySequence<byte> Payload;
}

internal enum ParseStatus : byte
{
    Op,
    NeedMoreData,
    /// <summary>A protocol error: send <see cref="NatsParser.Error"/> if not null, then close.</summary>
    Error,
}
