using System.Buffers;
using System.Text;
using System.Text.Json;
using Platform.Grains.Consumers;
using Platform.Grains.Streams;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>
/// A $JS.API request as the API handlers see it: its subject, where to answer, and the JSON body; a pull request
/// also carries the acks its client sent to that consumer just before it (<see cref="AckBatcher.Take"/>).
/// </summary>
internal sealed record ApiRequest(string Subject, string Reply, byte[] Body, AckOp[]? Acks = null);

/// <summary>Writes JetStream API replies in nats-server's shape and counts them for account info.</summary>
internal sealed class ApiResponder(NatsServer server)
{
    private long _total, _errors;

    public long Total => Interlocked.Read(ref _total);
    public long Errors => Interlocked.Read(ref _errors);

    public void CountRequest() => Interlocked.Increment(ref _total);
    public void UncountRequest() => Interlocked.Decrement(ref _total);

    public static bool TryParse<T>(byte[] body, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, out T? value)
    {
        value = default;
        if (body.Length == 0)
            return false;
        try
        {
            value = JsonSerializer.Deserialize(body, type);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>A body that may be empty (null then) but must be valid JSON when present; otherwise answers invalid JSON.</summary>
    public bool TryParseOptional<T>(ApiRequest request, string type, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, out T? value)
    {
        value = default;
        if (request.Body.Length == 0 || TryParse(request.Body, typeInfo, out value))
            return true;
        ReplyError(request, type, ApiError.InvalidJson);
        return false;
    }

    public static void WriteError(Utf8JsonWriter w, ApiError error)
    {
        w.WriteStartObject("error");
        w.WriteNumber("code", error.Code);
        w.WriteNumber("err_code", error.ErrCode);
        w.WriteString("description", error.Description);
        w.WriteEndObject();
    }

    public void ReplyError(ApiRequest request, string type, ApiError error) => Reply(request, type, w => WriteError(w, error), isError: true);

    public void Reply(ApiRequest request, string type, Action<Utf8JsonWriter> body, bool isError = false)
    {
        if (isError)
            Interlocked.Increment(ref _errors);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = ApiJson.Options.Encoder }))
        {
            w.WriteStartObject();
            w.WriteString("type", "io.nats.jetstream.api.v1." + type);
            body(w);
            w.WriteEndObject();
        }
        server.Deliver(Encoding.Latin1.GetBytes(request.Reply), default, 0, new ReadOnlySequence<byte>(buffer.WrittenMemory), null, null);
    }

    /// <summary>A status-only message (e.g. "404 No Messages") with optional extra header lines.</summary>
    public void SendStatus(string subject, string status, string? headers = null)
    {
        var header = Encoding.ASCII.GetBytes($"NATS/1.0 {status}\r\n{headers}\r\n");
        server.Deliver(Encoding.Latin1.GetBytes(subject), default, header.Length, new ReadOnlySequence<byte>(header), null, null);
    }
}
