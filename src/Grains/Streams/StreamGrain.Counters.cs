using System.Numerics;
using System.Text;
using Platform.Grains.Sourcing;
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
    /// <summary>The headers the append in progress stored in place of the ones published (a counter's sources), else null.</summary>
    private byte[]? _countedHeaders;
    /// <summary>
    /// While a counter stream appends a source's batch: the origin stream and each message's subject there (before the
    /// source's transforms), which key the totals seen from it (<see cref="CounterSources"/>).
    /// </summary>
    private (string Stream, string[] Subjects)? _sourcedCounters;
    /// <summary>The index in its batch of the message being appended, kept only on counter streams.</summary>
    private int _counterIndex;

    /// <summary>
    /// Checks a counter publish as nats-server does and, on a counter stream, gives the body to store in place of the
    /// (empty) one published, the headers when they change, and the new total for the ack. A message a source copies
    /// into a stream that does not count is kept as it is; into a counter stream it adds the difference between its
    /// total and the last one seen from the same origin stream and subject (ADR-49's sourcing), in Nats-Incr.
    /// </summary>
    private ApiError? CountIncrement(IMessageLog log, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> headers, in PublishHeaders hdr,
        ReadOnlySpan<byte> payload, out byte[]? body, out byte[]? storedHeaders, out string? total)
    {
        body = null;
        storedHeaders = null;
        total = null;
        var config = _config!;
        if (hdr.Incr.IsEmpty)
            return ApiError.MessageIncrMissing;
        if (!MessageCounter.TryParseIncrement(hdr.Incr, out var increment))
            return ApiError.MessageIncrInvalid;
        if (!_appendingSourced)
        {
            if (!config.AllowMsgCounter)
                return ApiError.MessageIncrDisabled;
            if (!payload.IsEmpty)
                return ApiError.MessageIncrPayload;
            if (MessageCounter.HasConditions(hdr))
                return ApiError.MessageIncrInvalid;
        }
        else if (!config.AllowMsgCounter)
        {
            return null;
        }
        var sum = BigInteger.Zero;
        Dictionary<string, Dictionary<string, string>>? sources = null;
        if (log.TryGetLastBySubject(Encoding.UTF8.GetString(subject), out var last))
        {
            if (!MessageCounter.TryReadTotal(last.Payload, out sum) || !CounterSources.TryRead(last.Headers, out sources))
                return ApiError.MessageCounterBroken;
        }
        if (CounterSources.HeaderValue(headers, SourceHeader.HeaderName, out var sourceHeader))
        {
            if (!MessageCounter.TryReadTotal(payload, out var sourcedTotal))
                return ApiError.MessageCounterBroken;
            var (originStream, originSubject) = Origin(sourceHeader, subject);
            sources ??= new(StringComparer.Ordinal);
            if (!sources.TryGetValue(originStream, out var subjects))
                sources[originStream] = subjects = new(StringComparer.Ordinal);
            // A total never seen before counts whole (a source added with a value brings it all).
            var seen = subjects.TryGetValue(originSubject, out var previous) && MessageCounter.TryParseIncrement(Encoding.ASCII.GetBytes(previous), out var p)
                ? p : BigInteger.Zero;
            var sourcedText = sourcedTotal.ToString(System.Globalization.CultureInfo.InvariantCulture);
            subjects[originSubject] = sourcedText;
            increment = sourcedTotal - seen;
            headers = storedHeaders = CounterSources.SetHeader(headers, "Nats-Incr", increment.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        sum += increment;
        if (sources is { Count: > 0 })
            headers = storedHeaders = CounterSources.SetHeader(headers, CounterSources.HeaderName, CounterSources.Write(sources));
        total = sum.ToString(System.Globalization.CultureInfo.InvariantCulture);
        body = MessageCounter.Body(total);
        if (config.MaxMsgSize >= 0 && headers.Length + body.Length > config.MaxMsgSize)
            return ApiError.MessageTooLarge;
        return null;
    }

    /// <summary>
    /// The origin stream and subject of a sourced counter message: from the source being copied, or, for a message
    /// published with a Nats-Stream-Source header, from the header as nats-server reads it (the first field, and the
    /// fifth when there is one, else the subject).
    /// </summary>
    private (string Stream, string Subject) Origin(ReadOnlySpan<byte> sourceHeader, ReadOnlySpan<byte> subject)
    {
        if (_appendingSourced && _sourcedCounters is { } sourced)
            return (sourced.Stream, sourced.Subjects[_counterIndex]);
        var fields = Encoding.UTF8.GetString(sourceHeader).Split(' ');
        return (fields[0], fields.Length >= 5 ? fields[4] : Encoding.UTF8.GetString(subject));
    }
}
