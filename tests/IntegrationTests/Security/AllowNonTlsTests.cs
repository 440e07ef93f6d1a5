using System.Text.Json;
using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Security;

/// <summary>
/// <c>allow_non_tls</c> beside a <c>tls {}</c> block, as nats-server has it: the INFO offers tls_available instead of
/// requiring TLS, and the same port serves a client that starts the handshake and one that stays plain.
/// </summary>
public sealed class AllowNonTlsTests
{
    [Fact]
    public async Task Tls_and_plain_clients_share_the_port()
    {
        using var certs = TestCertificates.Create();
        var config = await PermissionsTests.WriteConfigAsync(certs.Config(verify: false) + "allow_non_tls: true\n");
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);

        var (info, _) = await RawClient.ExchangeAsync(silo.Port, "");
        using (var json = JsonDocument.Parse(info[5..^3]))
        {
            Assert.True(json.RootElement.GetProperty("tls_available").GetBoolean());
            Assert.False(json.RootElement.TryGetProperty("tls_required", out _));
        }

        await using var secure = new NatsConnection(new NatsOpts { Url = silo.Url, TlsOpts = certs.ClientTls(withCertificate: false) });
        await using var plain = new NatsConnection(new NatsOpts { Url = silo.Url, TlsOpts = new NatsTlsOpts { Mode = TlsMode.Disable } });
        await secure.ConnectAsync();
        await plain.ConnectAsync();
        await using var fromPlain = await secure.SubscribeCoreAsync<string>("mixed.a");
        await using var fromSecure = await plain.SubscribeCoreAsync<string>("mixed.b");
        await secure.PingAsync();
        await plain.PingAsync();
        await plain.PublishAsync("mixed.a", "plain to tls");
        await secure.PublishAsync("mixed.b", "tls to plain");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal("plain to tls", (await fromPlain.Msgs.ReadAsync(cts.Token)).Data);
        Assert.Equal("tls to plain", (await fromSecure.Msgs.ReadAsync(cts.Token)).Data);

        // A raw plain client is answered at once too.
        var (_, answer) = await RawClient.ExchangeAsync(silo.Port, "CONNECT {\"verbose\":false}\r\nPING\r\n");
        Assert.Equal("PONG\r\n", answer);
    }
}
