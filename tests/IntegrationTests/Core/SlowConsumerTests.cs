using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Core;

/// <summary>
/// A subscriber that never reads is cut off once it is max_pending behind, and nobody else waits for it.
/// The limit comes from a nats-server format config file, so this also checks that the silo reads one.
/// </summary>
public sealed class SlowConsumerTests
{
    [Fact]
    public async Task Stalled_subscriber_is_disconnected_and_others_keep_receiving()
    {
        var config = Path.Combine(Path.GetTempPath(), $"slow-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(config, "# small pending limit for the test\nmax_pending: 1MB\nserver_name: \"slow-test\"\n");
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);

        using var stalled = new TcpClient { ReceiveBufferSize = 4096 };
        await stalled.ConnectAsync("127.0.0.1", silo.Port);
        var stream = stalled.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("CONNECT {\"verbose\":false}\r\nSUB flood 1\r\nPING\r\n"));
        var buffer = new byte[4096];
        var greeting = new StringBuilder();
        while (!greeting.ToString().Contains("PONG"))
            greeting.Append(Encoding.ASCII.GetString(buffer, 0, await stream.ReadAsync(buffer)));

        await using var healthy = new NatsConnection(new NatsOpts { Url = silo.Url });
        await using var publisher = new NatsConnection(new NatsOpts { Url = silo.Url });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await FloodAsync(healthy, publisher, cts.Token);

        using var http = new HttpClient();
        var response = await http.GetAsync($"http://127.0.0.1:{silo.HttpPort}/varz");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode && text.Length > 0, $"/varz answered {(int)response.StatusCode} '{text}'\n{silo.Output}");
        var varz = JsonDocument.Parse(text).RootElement;
        Assert.True(varz.GetProperty("slow_consumers").GetInt64() >= 1, varz.ToString());
        Assert.Equal("slow-test", varz.GetProperty("server_name").GetString());
        // nats-server reads 1MB as 1048576.
        Assert.Equal(1024 * 1024, varz.GetProperty("max_pending").GetInt64());

        // The stalled connection was closed by the server: draining it ends in EOF rather than blocking forever.
        int read;
        do
        {
            read = await stream.ReadAsync(buffer, cts.Token);
        } while (read > 0);
    }

    /// <summary>
    /// Publishes 16 MB on "flood" in bursts of 160 KB, each awaited by a healthy subscriber so it never falls near its
    /// own limit, while a stalled subscriber on "flood" falls past a 1 MB max_pending and the socket buffers. The
    /// connections stay open for the caller's checks.
    /// </summary>
    internal static async Task FloodAsync(NatsConnection healthy, NatsConnection publisher, CancellationToken cancellationToken)
    {
        await using var sub = await healthy.SubscribeCoreAsync<byte[]>("flood", cancellationToken: cancellationToken);
        await healthy.PingAsync(cancellationToken);
        var payload = new byte[16 * 1024];
        for (int burst = 0; burst < 100; burst++)
        {
            for (int i = 0; i < 10; i++)
                await publisher.PublishAsync("flood", payload, cancellationToken: cancellationToken);
            for (int i = 0; i < 10; i++)
                await sub.Msgs.ReadAsync(cancellationToken);
        }
    }
}
