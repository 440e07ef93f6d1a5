using NATS.Client.Core;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;
using Platform.Silo.Configuration;

namespace Platform.IntegrationTests.Security;

/// <summary>
/// Config files nats-server accepts start the silo too: a single-account <c>accounts</c> block with its users, and
/// users without a password; what the silo cannot serve (several accounts, exports) is refused naming it.
/// </summary>
public sealed class AccountsConfigTests
{
    private const string Config = """
        jetstream: enabled
        accounts {
          APP: {
            jetstream: enabled
            users: [
              {user: "nopass"}
              {user: "alice", password: "wonderland", permissions: { publish: "ok.>", subscribe: ["ok.>", "_INBOX.>"] }}
            ]
          }
        }
        """;

    [Fact]
    public void A_single_account_gives_its_users_to_the_server()
    {
        var users = SecurityConfigTests.Apply(Config).Nats.Users;
        Assert.Equal(["nopass", "alice"], users.Select(u => u.Username));
        Assert.Equal("", users[0].Password);
        Assert.Equal(["ok.>"], users[1].Permissions!.Publish!.Allow!);
    }

    [Theory]
    [InlineData("accounts {\n A: { users: [ {user: a} ] }\n B: { users: [ {user: b} ] }\n}\n", "test.conf:1: more than one account is not supported (accounts A, B)")]
    [InlineData("accounts {\n A: {\n users: [ {user: a} ]\n exports: [ {stream: \"x\"} ]\n }\n}\n", "test.conf:4: unsupported configuration key \"accounts.A.exports\"")]
    [InlineData("accounts {\n A: {\n jetstream: disabled\n }\n}\n", "test.conf:3: \"accounts.A.jetstream\": disabling JetStream for an account is not supported")]
    [InlineData("accounts {\n A: { users: [ {password: p} ] }\n}\n", "test.conf:2: accounts.A.users entry without \"user\"")]
    public void What_the_silo_cannot_serve_is_refused_by_name(string text, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => SecurityConfigTests.Apply(text));
        Assert.StartsWith(expected, error.Message);
    }

    [SkippableFact]
    public async Task Connections_are_answered_as_nats_server_answers_them()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        var config = await PermissionsTests.WriteConfigAsync(Config);
        await using var reference = await NatsServerProcess.StartAsync("-c", config);
        await using var silo = await SiloProcess.StartAsync(jetStream: true, extraArgs: ["-c", config]);
        string[] connects =
        [
            "\"user\":\"nopass\"",
            "\"user\":\"nopass\",\"pass\":\"\"",
            "\"user\":\"nopass\",\"pass\":\"x\"",
            "\"user\":\"alice\"",
            "\"user\":\"alice\",\"pass\":\"wonderland\"",
            "\"user\":\"alice\",\"pass\":\"wonderland\"}\r\nPUB denied 1\r\nx\r\nPING\r\n{",
        ];
        foreach (var connect in connects)
        {
            var script = "CONNECT {\"verbose\":false,\"pedantic\":false," + connect + "}\r\nPING\r\n";
            var expected = await RawClient.ExchangeAsync(reference.Port, script, TimeSpan.FromSeconds(3));
            var actual = await RawClient.ExchangeAsync(silo.Port, script, TimeSpan.FromSeconds(3));
            Assert.True(expected.Answer == actual.Answer, $"{connect}: nats-server {expected.Answer} silo {actual.Answer}");
        }

        // NATS.Net with the user alone, and JetStream in the account.
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url, AuthOpts = new NatsAuthOpts { Username = "nopass" } });
        await nats.ConnectAsync();
        var js = nats.CreateJetStreamContext();
        var stream = await js.CreateStreamAsync(new NATS.Client.JetStream.Models.StreamConfig("ACC", ["acc.>"]));
        Assert.Equal("ACC", stream.Info.Config.Name);
    }
}
