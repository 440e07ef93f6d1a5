using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Security;

/// <summary>Passwords given as bcrypt hashes, as nats-server accepts them (and as `nats server passwd` makes them).</summary>
public sealed class BcryptTests
{
    private static string ConfigWithHashes(string usersHash) => $$"""
        authorization {
          users = [
            {user: alice, password: "{{usersHash}}"}
            {user: plain, password: "not-hashed"}
          ]
        }
        """;

    [Fact]
    public async Task Bcrypt_hash_accepts_the_right_password_and_rejects_a_wrong_one()
    {
        var hash = BCrypt.Net.BCrypt.HashPassword("wonderland", workFactor: 6);
        Assert.StartsWith("$2", hash);
        var config = await PermissionsTests.WriteConfigAsync(ConfigWithHashes(hash));
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);

        await using (var good = new NatsConnection(new NatsOpts { Url = silo.Url, AuthOpts = new NatsAuthOpts { Username = "alice", Password = "wonderland" } }))
        {
            await good.ConnectAsync();
            await good.PingAsync();
        }
        await using (var plain = new NatsConnection(new NatsOpts { Url = silo.Url, AuthOpts = new NatsAuthOpts { Username = "plain", Password = "not-hashed" } }))
        {
            await plain.ConnectAsync();
            await plain.PingAsync();
        }
        foreach (var wrong in new[] { "wonderlan", hash, "" })
        {
            await using var bad = new NatsConnection(new NatsOpts
            {
                Url = silo.Url,
                AuthOpts = new NatsAuthOpts { Username = "alice", Password = wrong },
                MaxReconnectRetry = 0,
            });
            var error = await Assert.ThrowsAnyAsync<NatsException>(async () => await bad.ConnectAsync());
            Assert.Contains("Authorization Violation", error.ToString());
        }
    }

    [SkippableFact]
    public async Task Bcrypt_answers_match_nats_server()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        // $2a$ is what BCrypt.Net makes; nats-server's own tool makes $2a$ too. $2b$ and $2y$ are the same algorithm.
        var hash = BCrypt.Net.BCrypt.HashPassword("wonderland", workFactor: 6);
        var config = await PermissionsTests.WriteConfigAsync(ConfigWithHashes(hash));
        await using var reference = await NatsServerProcess.StartAsync("-c", config);
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);
        foreach (var pass in new[] { "wonderland", "wrong", hash })
        {
            var script = "CONNECT {\"verbose\":false,\"pedantic\":false,\"user\":\"alice\",\"pass\":\"" + pass + "\"}\r\nPING\r\n";
            var expected = await RawClient.ExchangeAsync(reference.Port, script, TimeSpan.FromSeconds(5));
            var actual = await RawClient.ExchangeAsync(silo.Port, script, TimeSpan.FromSeconds(5));
            Assert.True(expected.Answer == actual.Answer, $"{pass}: nats-server {expected.Answer} silo {actual.Answer}");
        }
    }
}
