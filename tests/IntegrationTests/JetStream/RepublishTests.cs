using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// A stream's republish through NATS.Net: the same stream and publishes on the silo and on nats-server 2.9.10 give the
/// same republished messages (subject, headers, payload), and only stored messages are republished.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RepublishTests(ServersFixture servers)
{
    /// <summary>2.10 adds Nats-Time-Stamp, which 2.9.10 does not send; times differ anyway.</summary>
    private const string TimeStamp = "Nats-Time-Stamp";

    private sealed record Republished(string Subject, string Headers, string Payload);

    private static async Task<List<Republished>> RunAsync(string url, string name, bool headersOnly)
    {
        var s = name.ToLowerInvariant();
        await using var nats = new NatsConnection(new NatsOpts { Url = url });
        await nats.ConnectAsync();
        var js = nats.CreateJetStreamContext();
        var received = new List<Republished>();
        await using var sub = await nats.SubscribeCoreAsync<byte[]>($"rp{s}.>");
        await nats.PingAsync();
        await js.CreateStreamAsync(new StreamConfig(name, [$"{s}.>"])
        {
            MaxMsgSize = 64,
            Republish = new Republish { Src = $"{s}.a.*", Dest = $"rp{s}.$1", HeadersOnly = headersOnly },
        });
        Assert.Null((await js.PublishAsync($"{s}.a.x", "one")).Error);
        Assert.Null((await js.PublishAsync($"{s}.b.y", "not republished")).Error);
        Assert.Null((await js.PublishAsync($"{s}.a.x", "two", headers: new NatsHeaders { ["K"] = "V" })).Error);
        // Refused (too large): never stored, so never republished.
        Assert.NotNull((await js.PublishAsync($"{s}.a.z", new string('x', 100), opts: new NatsJSPubOpts { RetryAttempts = 1 })).Error);
        Assert.Null((await js.PublishAsync($"{s}.a.z", "three")).Error);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await foreach (var msg in sub.Msgs.ReadAllAsync(timeout.Token))
        {
            var headers = msg.Headers is null ? "" : string.Join(";", msg.Headers
                .Where(h => h.Key != TimeStamp).OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => $"{h.Key}={h.Value}"));
            received.Add(new Republished(msg.Subject, headers.Replace(name, "{S}").Replace(s, "{s}"),
                msg.Data is null ? "" : Encoding.UTF8.GetString(msg.Data)));
            if (received.Count == 3)
                break;
        }
        await js.DeleteStreamAsync(name);
        return received;
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Republished_messages_match_nats_server(bool headersOnly)
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        var name = "RP" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
        var expected = await RunAsync(servers.Reference!.Url, name, headersOnly);
        var actual = await RunAsync(servers.Silo.Url, name, headersOnly);
        Assert.Equal(3, expected.Count);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Republished_messages_carry_the_2_10_time_stamp_and_last_sequence()
    {
        var name = "RT" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();
        var s = name.ToLowerInvariant();
        await using var nats = new NatsConnection(new NatsOpts { Url = servers.Silo.Url });
        await nats.ConnectAsync();
        var js = nats.CreateJetStreamContext();
        await using var sub = await nats.SubscribeCoreAsync<string>($"rp{s}.>");
        await nats.PingAsync();
        await js.CreateStreamAsync(new StreamConfig(name, [$"{s}.>"]) { Republish = new Republish { Src = ">", Dest = $"rp{s}.>" } });
        await js.PublishAsync($"{s}.k", "1");
        await js.PublishAsync($"{s}.j", "2");
        await js.PublishAsync($"{s}.k", "3");
        var got = new List<NatsMsg<string>>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await foreach (var msg in sub.Msgs.ReadAllAsync(timeout.Token))
        {
            got.Add(msg);
            if (got.Count == 3)
                break;
        }
        Assert.Equal([$"rp{s}.{s}.k", $"rp{s}.{s}.j", $"rp{s}.{s}.k"], got.Select(m => m.Subject));
        Assert.Equal(["0", "0", "1"], got.Select(m => m.Headers!["Nats-Last-Sequence"].ToString()));
        Assert.Equal(["1", "2", "3"], got.Select(m => m.Headers!["Nats-Sequence"].ToString()));
        Assert.True(DateTime.TryParse(got[0].Headers![TimeStamp].ToString(), out _));
    }
}
