using System.Text;
using System.Text.RegularExpressions;
using NATS.Client.Core;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// Pull requests with max_bytes on the silo and on nats-server 2.9.10 get the same bytes on the wire: the same
/// messages and the same status replies, including the 409 "Message Size Exceeds MaxBytes" and 408 with their
/// Nats-Pending-Messages and Nats-Pending-Bytes (a message counts its subject, ack reply, headers and payload).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed partial class PullMaxBytesDifferentialTests(ServersFixture servers)
{
    private static readonly string[] Requests =
    [
        """{"batch":10,"max_bytes":50,"expires":1000000000}""",
        """{"batch":10,"max_bytes":330,"expires":1000000000}""",
        """{"batch":2,"max_bytes":10000,"expires":1000000000}""",
        """{"batch":10,"max_bytes":10000,"expires":1000000000}""",
    ];

    [GeneratedRegex(@"\.\d{19}\.")]
    private static partial Regex AckTime();

    private static async Task<List<string>> RunAsync(string url, int port, string name)
    {
        var s = name.ToLowerInvariant();
        await using (var nats = new NatsConnection(new NatsOpts { Url = url }))
        {
            var js = nats.CreateJetStreamContext();
            await js.CreateStreamAsync(new StreamConfig(name, [$"{s}.>"]));
            var payload = new string('p', 100);
            for (int i = 0; i < 5; i++)
                await js.PublishAsync($"{s}.m", payload, headers: i == 1 ? new NatsHeaders { ["K"] = "value" } : null);
            await js.CreateOrUpdateConsumerAsync(name, new ConsumerConfig("C") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        }
        var answers = new List<string>();
        foreach (var request in Requests)
        {
            var script = "CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB _IN 1\r\n"
                         + $"PUB $JS.API.CONSUMER.MSG.NEXT.{name}.C _IN {Encoding.UTF8.GetByteCount(request)}\r\n{request}\r\n";
            var (_, answer) = await RawClient.ExchangeAsync(port, script, TimeSpan.FromMilliseconds(1500));
            // nats-server writes an empty reply as a second space, and pings a client that has been quiet for a while.
            answers.Add(AckTime().Replace(answer, ".<time>.").Replace("  ", " ").Replace("PING\r\n", ""));
        }
        return answers;
    }

    [SkippableFact]
    public async Task Max_bytes_pulls_match_nats_server()
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        var name = "MB" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
        var expected = await RunAsync(servers.Reference!.Url, servers.Reference.Port, name);
        var actual = await RunAsync(servers.Silo.Url, servers.Silo.Port, name);
        Assert.Contains("409 Message Size Exceeds MaxBytes", expected[0]);
        Assert.Contains("Nats-Pending-Bytes", expected[1]);
        for (int i = 0; i < Requests.Length; i++)
            Assert.True(expected[i] == actual[i], $"{Requests[i]}\nnats-server: {expected[i]}\nsilo:        {actual[i]}");
    }
}
