namespace Platform.Grains.Streams;

/// <summary>
/// Where a stream's republish (2.10) sends a stored message: implemented by the gateway of the silo the stream grain
/// runs on, which publishes it to subscribers (and other silos) with nats-server's headers. Called in the grain's
/// turn once the message is stored; the spans are only valid during the call.
/// </summary>
public interface IStreamRepublisher
{
    void Republish(string stream, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> headers,
        ReadOnlySpan<byte> payload, ulong sequence, ulong lastSubjectSequence, long timestampNanos, bool headersOnly);
}
