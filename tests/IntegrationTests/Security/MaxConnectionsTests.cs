using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Security;

/// <summary>max_connections from the config file: the connection over the limit gets nats-server's INFO, -ERR and close.</summary>
public sealed class MaxConnectionsTests
{
    [SkippableFact]
    public async Task Connection_over_the_limit_is_refused_like_nats_server()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        var config = await PermissionsTests.WriteConfigAsync("max_connections: 2\n");
        await using var reference = await NatsServerProcess.StartAsync("-c", config);
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);
        foreach (var (name, port) in new[] { ("nats-server", reference.Port), ("silo", silo.Port) })
        {
            await using var first = await RawSession.ConnectAsync(port, "CONNECT {\"verbose\":false}\r\n");
            await using var second = await RawSession.ConnectAsync(port, "CONNECT {\"verbose\":false}\r\n");
            var refused = await RawClient.ExchangeAsync(port, "CONNECT {\"verbose\":false}\r\nPING\r\n", TimeSpan.FromSeconds(5));
            Assert.True(refused.Info.StartsWith("INFO {", StringComparison.Ordinal), $"{name}: {refused.Info}");
            Assert.True(refused.Answer == "-ERR 'maximum connections exceeded'\r\n<EOF>", $"{name}: {refused.Answer}");
        }
        // Room again once the connections above are gone (the server notices their close shortly after).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string answer;
        while (true)
        {
            answer = (await RawClient.ExchangeAsync(silo.Port, "CONNECT {\"verbose\":false}\r\nPING\r\n", TimeSpan.FromSeconds(5))).Answer;
            if (answer == "PONG\r\n" || DateTime.UtcNow > deadline)
                break;
            await Task.Delay(100);
        }
        Assert.Equal("PONG\r\n", answer);
        await silo.AssertOutputContainsAsync("maximum connections exceeded");
    }
}
