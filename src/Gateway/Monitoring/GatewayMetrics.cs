using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Platform.Gateway.JetStream;
using Platform.Gateway.Server;

namespace Platform.Gateway.Monitoring;

/// <summary>
/// The gateway's instruments on the meter "Platform.Gateway", exported with Orleans' meter on /metrics. Counters
/// read the totals the server keeps anyway, so the hot paths pay nothing for them; only the publish-ack latency is
/// recorded as it happens, once per acknowledged message.
/// </summary>
internal sealed class GatewayMetrics
{
    public const string MeterName = "Platform.Gateway";

    public GatewayMetrics(IMeterFactory meters, NatsServer server, IServiceProvider services)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableCounter("nats.messages.in", () => server.InMsgs, "{message}", "Messages published by clients");
        meter.CreateObservableCounter("nats.messages.out", () => server.OutMsgs, "{message}", "Messages delivered to clients");
        meter.CreateObservableCounter("nats.bytes.in", () => server.InBytes, "By", "Payload bytes published by clients");
        meter.CreateObservableCounter("nats.bytes.out", () => server.OutBytes, "By", "Payload bytes delivered to clients");
        meter.CreateObservableCounter("nats.slow_consumers", () => server.SlowConsumers, "{client}", "Clients closed for falling behind");
        meter.CreateObservableUpDownCounter("nats.connections", () => server.ClientCount, "{connection}", "Open client connections");
        meter.CreateObservableUpDownCounter("nats.subscriptions", () => server.Router.Count, "{subscription}", "Subscriptions in the router");
        if (services.GetService<StreamCapture>() is { } streams)
            meter.CreateObservableUpDownCounter("jetstream.streams", () => streams.Count, "{stream}", "Streams known to the gateway");
        if (services.GetService<ConsumerApi>() is { } consumers)
            meter.CreateObservableUpDownCounter("jetstream.consumers", () => consumers.Count, "{consumer}", "Consumers served by the gateway");
        // Acks take tens of microseconds to tens of milliseconds; the default buckets start at 5 ms.
        server.PublishAckLatency = meter.CreateHistogram("jetstream.publish.ack.latency", "ms",
            "From the end of the read that carried a publish to its ack being queued for the client", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000] });
    }
}
