using System.Text;
using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>
/// The publish step of 2.12's counters (<see cref="MessageCounter"/>), reached only when a message carries Nats-Incr
/// or the stream counts, so other streams' publishes pay one test for it.
/// </summary>
internal sealed partial class StreamGrain
{
    /// <summary>The body the append in progress stored in place of the one published (a counter's total), else null.</summary>
    private byte[]? _countedBody;

    /// <summary>
    /// Checks a counter publish as nats-server does and, on a counter stream, gives the body to store in place of the
    /// (empty) one published and the new total for the ack. A message a source copies is kept as it is.
    /// </summary>
    private ApiError? CountIncrement(IMessageLog log, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> headers, in PublishHeaders hdr,
        ReadOnlySpan<byte> payload, out byte[]? body, out string? total)
    {
        body = null;
        total = null;
        var config = _config!;
        if (hdr.Incr.IsEmpty)
            return ApiError.MessageIncrMissing;
        if (!MessageCounter.TryParseIncrement(hdr.Incr, out var increment))
            return ApiError.MessageIncrInvalid;
        if (_appendingSourced)
            return null;
        if (!config.AllowMsgCounter)
            return ApiError.MessageIncrDisabled;
        if (!payload.IsEmpty)
            return ApiError.MessageIncrPayload;
        if (MessageCounter.HasConditions(hdr))
            return ApiError.MessageIncrInvalid;
        var sum = increment;
        if (log.TryGetLastBySubject(Encoding.UTF8.GetString(subject), out var last))
        {
            if (!MessageCounter.TryReadTotal(last.Payload, out var previous))
                return ApiError.MessageCounterBroken;
            sum += previous;
        }
        total = sum.ToString(System.Globalization.CultureInfo.InvariantCulture);
        body = MessageCounter.Body(total);
        if (config.MaxMsgSize >= 0 && headers.Length + body.Length > config.MaxMsgSize)
            return ApiError.MessageTooLarge;
        return null;
    }
}
