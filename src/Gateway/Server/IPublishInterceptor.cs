using System.Buffers;

namespace Platform.Gateway.Server;

/// <summary>
/// Sees every client publish before core delivery; JetStream uses it to capture subjects into streams.
/// Calls happen on the publisher's read loop, for every op in the read, and then once per read
/// (<see cref="EndOfReadAsync"/>) so captured messages travel to grains in batches.
/// </summary>
internal interface IPublishInterceptor
{
    /// <summary>True when the message was captured (a stream stores it and will answer the reply subject).</summary>
    bool TryCapture(NatsClient publisher, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength, in ReadOnlySequence<byte> message);

    /// <summary>Sends what this read captured. Awaiting it is the connection's backpressure.</summary>
    ValueTask EndOfReadAsync(NatsClient publisher);
}
