using System.Globalization;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Monitoring;

/// <summary>/metrics in Prometheus text format: the gateway's instruments and Orleans' meter.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Metrics_count_traffic_streams_and_ack_latency()
    {
        await using var silo = await SiloProcess.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();
        await js.CreateStreamAsync(new StreamConfig("METRICS", ["metrics.>"]));
        for (int i = 0; i < 20; i++)
            (await js.PublishAsync("metrics.x", i)).EnsureSuccess();
        await using (var sub = await nats.SubscribeCoreAsync<int>("plain"))
        {
            for (int i = 0; i < 10; i++)
                await nats.PublishAsync("plain", i);
            for (int i = 0; i < 10; i++)
                await sub.Msgs.ReadAsync();
        }

        using var http = new HttpClient();
        var text = await http.GetStringAsync($"http://127.0.0.1:{silo.HttpPort}/metrics");
        Assert.True(Value(text, "nats_messages_in_total") >= 30, text);
        Assert.True(Value(text, "nats_messages_out_total") >= 10, text);
        Assert.Equal(1, Value(text, "jetstream_streams"));
        Assert.Equal(20, Value(text, "jetstream_publish_ack_latency_milliseconds_count"));
        Assert.True(Value(text, "nats_connections") >= 1);
        Assert.Contains("\norleans_", text);
    }

    /// <summary>The value of the first sample of a metric, whatever its labels.</summary>
    private static double Value(string exposition, string metric)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (!line.StartsWith(metric + "{", StringComparison.Ordinal) && !line.StartsWith(metric + " ", StringComparison.Ordinal))
                continue;
            return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }
        throw new Xunit.Sdk.XunitException($"{metric} not found");
    }
}
