using System.Text;
using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Security;

/// <summary>
/// Permissions on non-ASCII subjects and on subjects with empty tokens: the configured patterns are text, the wire
/// subjects UTF-8 bytes, and the two must meet (a Cyrillic deny is not bypassed); a subject with an empty token matches
/// no pattern, as in nats-server. Raw scripts against both servers with one config file, and NATS.Net against the silo.
/// </summary>
public sealed class SubjectBytesPermissionsTests
{
    private const string Config = """
        authorization {
          users = [
            {user: a, password: a, permissions: { publish: { deny: ["секрет.>", "orders.secret"] }, subscribe: { deny: ["секрет.>"] } }}
            {user: b, password: b, permissions: { publish: { allow: ["orders.>"] }, subscribe: { allow: ["orders.>"] } }}
            {user: c, password: c}
          ]
        }
        """;

    private static string Connect(string user, bool pedantic = false, bool verbose = false)
        => $"CONNECT {{\"verbose\":{(verbose ? "true" : "false")},\"pedantic\":{(pedantic ? "true" : "false")},\"headers\":true,\"no_responders\":true,\"user\":\"{user}\",\"pass\":\"{user}\"}}\r\n";

    /// <summary>The UTF-8 bytes of a text, one char per byte, as RawClient writes and reads scripts.</summary>
    private static string Wire(string text) => Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(text));

    public static TheoryData<string, string> Scripts => new()
    {
        { "Cyrillic publish deny", Connect("a") + Wire("PUB секрет.x 1\r\na\r\n") + "PING\r\n" },
        { "Cyrillic subscribe deny", Connect("a") + Wire("SUB секрет.x 1\r\n") + "PING\r\n" },
        { "Cyrillic queue subscribe deny", Connect("a") + Wire("SUB секрет.x q 1\r\n") + "PING\r\n" },
        { "Cyrillic wildcard subscribe deny", Connect("a") + Wire("SUB секрет.> 1\r\nSUB секрет.* 2\r\n") + "PING\r\n" },
        { "other Cyrillic subjects pass", Connect("a") + Wire("SUB > 1\r\nPUB секрет 1\r\na\r\nPUB да.x 1\r\nb\r\n") + "PING\r\n" },
        { "trailing dot passes a deny and is delivered nowhere", Connect("a") + "SUB > 1\r\nPUB orders.secret. 1\r\na\r\nPUB orders.secret 1\r\nb\r\nPING\r\n" },
        { "empty tokens fail an allow list", Connect("b") + "SUB orders.> 1\r\nPUB orders.secret. 1\r\na\r\nPUB orders..x 1\r\nb\r\nPING\r\n" },
        { "empty token subscribe fails an allow list first", Connect("b") + "SUB orders..x 1\r\nSUB orders. 2\r\nSUB .orders 3\r\nPING\r\n" },
        { "empty token subscribe with a deny list is invalid", Connect("a") + "SUB orders..x 1\r\n" + Wire("SUB секрет..x 2\r\n") + "PING\r\n" },
        { "pedantic empty token then permissions", Connect("b", pedantic: true) + "PUB orders..x 1\r\nb\r\nPING\r\n" },
        { "empty tokens are delivered nowhere", Connect("c") + "SUB > 1\r\nSUB a.* 2\r\nSUB a.> 3\r\nPUB a..b 1\r\nx\r\nPUB .a 1\r\ny\r\nPUB a. 1\r\nz\r\nPUB a.b 1\r\nw\r\nPING\r\n" },
        { "pedantic empty tokens", Connect("c", pedantic: true) + "SUB > 1\r\nPUB a..b 1\r\nx\r\nPUB .a 1\r\ny\r\nPUB a. 1\r\nz\r\nPING\r\n" },
        { "empty token request gets no responders", Connect("c") + "SUB r 1\r\nSUB > 2\r\nPUB a..b r 1\r\nx\r\nPING\r\n" },
        { "empty token subscribes are invalid", Connect("c", verbose: true) + "SUB a..b 1\r\nSUB .a 2\r\nSUB a. 3\r\nPING\r\n" },
    };

    [SkippableFact]
    public async Task Raw_answers_match_nats_server_with_the_same_config_file()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        var config = await PermissionsTests.WriteConfigAsync(Config);
        await using var reference = await NatsServerProcess.StartAsync("-c", config);
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);
        await PermissionsTests.AssertSameAnswersAsync(reference.Port, silo.Port, Scripts);
        await silo.AssertOutputContainsAsync("Publish Violation - User \"a\", Subject \"секрет.x\"");
    }

    [Fact]
    public async Task Cyrillic_deny_holds_for_nats_net()
    {
        var config = await PermissionsTests.WriteConfigAsync(Config);
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);

        await using var watcher = new NatsConnection(new NatsOpts { Url = silo.Url, AuthOpts = new NatsAuthOpts { Username = "c", Password = "c" } });
        await using var watch = await watcher.SubscribeCoreAsync<string>(">");
        await watcher.PingAsync();

        var (limited, errors) = await PermissionsTests.ConnectCollectingErrorsAsync(silo.Url, "a", "a");
        await using var _ = limited;

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await limited.PublishAsync("секрет.план", "must not arrive", cancellationToken: cts.Token);
        await limited.PublishAsync("orders.secret.", "must not arrive either", cancellationToken: cts.Token);
        await using var denied = await limited.SubscribeCoreAsync<string>("секрет.>", cancellationToken: cts.Token);
        var seenErrors = await PermissionsTests.ReadErrorsAsync(errors, 2, cts.Token);
        Assert.True(seenErrors.Count(e => e.Contains("Permissions Violation for Publish to \"секрет.план\"")) == 1
                    && seenErrors.Count(e => e.Contains("Permissions Violation for Subscription to \"секрет.>\"")) == 1,
            string.Join(" | ", seenErrors));

        await limited.PublishAsync("открыто.x", "ok", cancellationToken: cts.Token);
        await watcher.PublishAsync("секрет.x", "not for a", cancellationToken: cts.Token);
        await limited.PingAsync(cts.Token);
        await watcher.PingAsync(cts.Token);

        var seen = new List<string>();
        while (seen.Count < 2)
            seen.Add((await watch.Msgs.ReadAsync(cts.Token)).Subject);
        Assert.Equal(["открыто.x", "секрет.x"], seen.Order(StringComparer.Ordinal));
        Assert.False(watch.Msgs.TryRead(out var extra), $"unexpected {extra.Subject}");
        Assert.False(denied.Msgs.TryRead(out var leaked), $"denied subscription received {leaked.Subject}");
        Assert.Equal(NatsConnectionState.Open, limited.ConnectionState);
    }
}
