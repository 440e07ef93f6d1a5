using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Platform.Grains.Streams;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>
/// Publishes what a stream's republish sends, as nats-server 2.10 does: the stored message (or only its headers) on
/// the mapped subject, with Nats-Stream, Nats-Subject, Nats-Sequence, Nats-Time-Stamp and Nats-Last-Sequence added
/// to its headers (and Nats-Msg-Size for headers_only). It reaches subscribers, on this silo and across routes, and
/// the stream that captures its subject, if any.
/// </summary>
internal sealed class StreamRepublisher(NatsServer server, RepublishCapture capture) : IStreamRepublisher
{
    private readonly ArrayBufferWriter<byte> _message = new(1024);

    public void Republish(string stream, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> headers,
        ReadOnlySpan<byte> payload, ulong sequence, ulong lastSubjectSequence, long timestampNanos, bool headersOnly)
    {
        // Stream grains of many streams call at once; the buffer is the silo's, so one call builds at a time.
        lock (_message)
        {
            _message.ResetWrittenCount();
            // The message's own headers come first, without their closing blank line.
            if (headers.Length >= 4 && headers.EndsWith("\r\n\r\n"u8))
                _message.Write(headers[..^2]);
            else
                _message.Write("NATS/1.0\r\n"u8);
            Header("Nats-Stream: "u8, Encoding.UTF8.GetBytes(stream));
            Header("Nats-Subject: "u8, subject);
            Number("Nats-Sequence: "u8, sequence);
            Header("Nats-Time-Stamp: "u8, Encoding.ASCII.GetBytes(ApiJson.Time(timestampNanos)));
            Number("Nats-Last-Sequence: "u8, lastSubjectSequence);
            if (headersOnly)
                Number("Nats-Msg-Size: "u8, (ulong)payload.Length);
            _message.Write("\r\n"u8);
            int headerLength = _message.WrittenCount;
            if (!headersOnly)
                _message.Write(payload);
            server.Deliver(destination, default, headerLength, new ReadOnlySequence<byte>(_message.WrittenMemory), null, null);
            capture.Offer(stream, destination, headerLength, _message.WrittenSpan);
        }
    }

    private void Header(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        _message.Write(name);
        _message.Write(value);
        _message.Write("\r\n"u8);
    }

    private void Number(ReadOnlySpan<byte> name, ulong value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out int n);
        Header(name, digits[..n]);
    }
}
