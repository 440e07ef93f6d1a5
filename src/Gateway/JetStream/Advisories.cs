using System.Buffers;
using System.Text;
using System.Text.Json;
using Platform.Grains.Consumers;
using Platform.Gateway.Server;
using Platform.Grains.Streams;

namespace Platform.Gateway.JetStream;

/// <summary>
/// JetStream advisories on $JS.EVENT.ADVISORY.CONSUMER.* (and a stream's BATCH_ABANDONED), in nats-server's JSON shapes. Published only when someone
/// listens, so they cost nothing otherwise.
/// </summary>
internal sealed class Advisories(NatsServer server) : PinEvents.IListener, IStreamAdvisories
{
    public void BatchAbandoned(string stream, string batch, string reason)
        => Publish($"$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.{stream}", "stream_batch_abandoned", stream, null, w =>
        {
            w.WriteString("batch", batch);
            w.WriteString("reason", reason);
        });

    public void MaxDeliveries(string stream, string consumer, ulong streamSeq, ulong deliveries)
        => Publish($"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{consumer}", "max_deliver", stream, consumer, w =>
        {
            w.WriteNumber("stream_seq", streamSeq);
            w.WriteNumber("deliveries", deliveries);
        });

    public void Naked(string stream, string consumer, ulong consumerSeq, ulong streamSeq, ulong deliveries)
        => Publish($"$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.{stream}.{consumer}", "nak", stream, consumer, w =>
        {
            w.WriteNumber("consumer_seq", consumerSeq);
            w.WriteNumber("stream_seq", streamSeq);
            w.WriteNumber("deliveries", deliveries);
        });

    public void Terminated(string stream, string consumer, ulong consumerSeq, ulong streamSeq, ulong deliveries, string reason)
        => Publish($"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{stream}.{consumer}", "terminated", stream, consumer, w =>
        {
            w.WriteNumber("consumer_seq", consumerSeq);
            w.WriteNumber("stream_seq", streamSeq);
            w.WriteNumber("deliveries", deliveries);
            w.WriteString("reason", reason);
        });

    /// <summary>2.11's pause advisory, sent on a pause, a resume, and when a pause runs out.</summary>
    public void Paused(string stream, string consumer, bool paused, DateTime? until)
        => Publish($"$JS.EVENT.ADVISORY.CONSUMER.PAUSE.{stream}.{consumer}", "consumer_pause", stream, consumer, w =>
        {
            w.WriteBoolean("paused", paused);
            // Go's omitempty never leaves out a time: the zero time stands for none.
            w.WriteString("pause_until", until is { } time ? ApiJson.Time(time) : ApiJson.Time(0));
        });

    /// <summary>2.11: a pinned_client group pinned a client (a new pin id).</summary>
    public void Pinned(string stream, string consumer, string group, string pinId)
        => Publish($"$JS.EVENT.ADVISORY.CONSUMER.PINNED.{stream}.{consumer}", "consumer_group_pinned", stream, consumer, w =>
        {
            w.WriteString("group", group);
            w.WriteString("pinned_id", pinId);
        });

    /// <summary>2.11: a pinned_client group's pin was freed, for "timeout" or by the unpin API ("admin").</summary>
    public void Unpinned(string stream, string consumer, string group, string reason)
        => Publish($"$JS.EVENT.ADVISORY.CONSUMER.UNPINNED.{stream}.{consumer}", "consumer_group_unpinned", stream, consumer, w =>
        {
            w.WriteString("group", group);
            w.WriteString("reason", reason);
        });

    private void Publish(string subject, string type, string stream, string? consumer, Action<Utf8JsonWriter> fields)
    {
        var subjectBytes = Encoding.UTF8.GetBytes(subject);
        if (!server.Router.HasInterest(subjectBytes))
            return;
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = ApiJson.Options.Encoder }))
        {
            w.WriteStartObject();
            w.WriteString("type", "io.nats.jetstream.advisory.v1." + type);
            w.WriteString("id", Guid.NewGuid().ToString("N"));
            w.WriteString("timestamp", ApiJson.Time(DateTime.UtcNow));
            w.WriteString("stream", stream);
            if (consumer is not null)
                w.WriteString("consumer", consumer);
            fields(w);
            w.WriteEndObject();
        }
        server.Deliver(subjectBytes, default, 0, new ReadOnlySequence<byte>(buffer.WrittenMemory), null, null);
    }
}
