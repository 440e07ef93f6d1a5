using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Core;

/// <summary>Token and user/password authentication, compared with nats-server started with the same flags.</summary>
public sealed class AuthenticationTests
{
    private const string C = "\"verbose\":false,\"pedantic\":false";

    public static TheoryData<string, string> TokenScripts => new()
    {
        { "ping before connect", "PING\r\n" },
        { "sub before connect", "SUB foo 1\r\n" },
        { "connect without token", "CONNECT {" + C + "}\r\nPING\r\n" },
        { "wrong token", "CONNECT {" + C + ",\"auth_token\":\"x\"}\r\nPING\r\n" },
        { "right token", "CONNECT {" + C + ",\"auth_token\":\"s3cret\"}\r\nPING\r\n" },
        { "publish before connect fails before its payload", "PUB foo 5\r\n" },
        { "first byte of a non-CONNECT fails", "P" },
        { "a second CONNECT is not authenticated again", "CONNECT {" + C + ",\"auth_token\":\"s3cret\"}\r\nCONNECT {" + C + "}\r\nPING\r\n" },
        { "protocol checked after the token", "CONNECT {" + C + ",\"protocol\":2}\r\nPING\r\n" },
    };

    [SkippableFact]
    public async Task Token_answers_match_nats_server_and_info_says_auth_required()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        await using var reference = await NatsServerProcess.StartAsync("--auth", "s3cret");
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["--auth", "s3cret"]);
        foreach (var row in TokenScripts)
        {
            var name = (string)row[0];
            var script = (string)row[1];
            var expected = await RawClient.ExchangeAsync(reference.Port, script);
            var actual = await RawClient.ExchangeAsync(silo.Port, script);
            Assert.True(expected.Answer == actual.Answer, $"{name}: expected {expected.Answer} got {actual.Answer}");
            Assert.Contains("\"auth_required\":true", actual.Info);
        }
    }

    [SkippableFact]
    public async Task Silent_client_gets_authentication_timeout_like_nats_server()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        await using var reference = await NatsServerProcess.StartAsync("--auth", "s3cret");
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["--auth", "s3cret"]);
        var expected = await RawClient.ExchangeAsync(reference.Port, "", TimeSpan.FromSeconds(4));
        var actual = await RawClient.ExchangeAsync(silo.Port, "", TimeSpan.FromSeconds(4));
        Assert.Equal("-ERR 'Authentication Timeout'\r\n<EOF>", expected.Answer);
        Assert.Equal(expected.Answer, actual.Answer);
    }

    [Fact]
    public async Task User_and_password_through_nats_net()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["--user", "alice", "--pass", "wonder"]);
        await using (var good = new NatsConnection(new NatsOpts { Url = silo.Url, AuthOpts = new NatsAuthOpts { Username = "alice", Password = "wonder" } }))
        {
            await good.ConnectAsync();
            await good.PingAsync();
        }
        await using var bad = new NatsConnection(new NatsOpts
        {
            Url = silo.Url,
            AuthOpts = new NatsAuthOpts { Username = "alice", Password = "wrong" },
            MaxReconnectRetry = 0,
        });
        var error = await Assert.ThrowsAnyAsync<NatsException>(async () => await bad.ConnectAsync());
        Assert.Contains("Authorization Violation", error.ToString());
    }
}
