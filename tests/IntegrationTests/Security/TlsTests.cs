using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;
using Platform.Silo.Configuration;

namespace Platform.IntegrationTests.Security;

/// <summary>
/// TLS as nats-server does it: the INFO in plaintext with tls_required, then the handshake on the same connection,
/// client certificates checked against ca_file with verify. Certificates are made here with CertificateRequest.
/// </summary>
public sealed class TlsTests
{
    [Fact]
    public async Task Clients_publish_and_subscribe_over_tls()
    {
        using var certs = TestCertificates.Create();
        var config = await PermissionsTests.WriteConfigAsync(certs.Config(verify: false));
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);

        var (info, _) = await RawClient.ExchangeAsync(silo.Port, "");
        using (var json = JsonDocument.Parse(info[5..^3]))
        {
            Assert.True(json.RootElement.GetProperty("tls_required").GetBoolean());
            Assert.False(json.RootElement.TryGetProperty("tls_verify", out _));
        }

        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url, TlsOpts = certs.ClientTls(withCertificate: false) });
        await nats.ConnectAsync();
        await using var sub = await nats.SubscribeCoreAsync<string>("tls.>");
        await nats.PingAsync();
        var payload = new string('x', 100_000);
        await nats.PublishAsync("tls.small", "hello");
        await nats.PublishAsync("tls.large", payload);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var first = await sub.Msgs.ReadAsync(cts.Token);
        var second = await sub.Msgs.ReadAsync(cts.Token);
        Assert.Equal(("tls.small", "hello"), (first.Subject, first.Data));
        Assert.Equal(("tls.large", payload), (second.Subject, second.Data));
        await silo.AssertOutputContainsAsync("TLS required for client connections");
    }

    [Fact]
    public async Task Verify_refuses_clients_without_a_certificate_from_the_ca()
    {
        using var certs = TestCertificates.Create();
        var config = await PermissionsTests.WriteConfigAsync(certs.Config(verify: true));
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);

        var (info, _) = await RawClient.ExchangeAsync(silo.Port, "");
        Assert.Contains("\"tls_required\":true,\"tls_verify\":true", info);

        await using (var good = new NatsConnection(new NatsOpts { Url = silo.Url, TlsOpts = certs.ClientTls(withCertificate: true) }))
        {
            await good.ConnectAsync();
            await using var sub = await good.SubscribeCoreAsync<string>("verified");
            await good.PingAsync();
            await good.PublishAsync("verified", "ok");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Assert.Equal("ok", (await sub.Msgs.ReadAsync(cts.Token)).Data);
        }
        foreach (var tls in new[] { certs.ClientTls(withCertificate: false), certs.RogueClientTls() })
        {
            await using var bad = new NatsConnection(new NatsOpts { Url = silo.Url, TlsOpts = tls, MaxReconnectRetry = 0 });
            await Assert.ThrowsAnyAsync<NatsException>(async () => await bad.ConnectAsync());
        }
        await silo.AssertOutputContainsAsync("TLS handshake error");
    }

    [Fact]
    public async Task Flags_enable_tls_as_nats_server_has_them()
    {
        using var certs = TestCertificates.Create();
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs:
            ["--tlscert", certs.ServerCert, "--tlskey", certs.ServerKey, "--tlsverify", "--tlscacert", certs.CaCert]);
        var (info, _) = await RawClient.ExchangeAsync(silo.Port, "");
        Assert.Contains("\"tls_required\":true,\"tls_verify\":true", info);
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url, TlsOpts = certs.ClientTls(withCertificate: true) });
        await nats.ConnectAsync();
        await nats.PingAsync();
    }

    [SkippableFact]
    public async Task Plaintext_and_silent_clients_are_closed_like_nats_server()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        using var certs = TestCertificates.Create();
        var config = await PermissionsTests.WriteConfigAsync(certs.Config(verify: true, timeout: "0.5"));
        await using var reference = await NatsServerProcess.StartAsync(jetStream: false, monitoring: false, "-c", config);
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);
        foreach (var (name, port) in new[] { ("nats-server", reference.Port), ("silo", silo.Port) })
        {
            // A plaintext CONNECT where the ClientHello should be: nats-server 2.9 closes without a word (no -ERR).
            var plaintext = await RawClient.ExchangeAsync(port, "CONNECT {\"verbose\":false}\r\nPING\r\n", TimeSpan.FromSeconds(5));
            Assert.True(plaintext.Info.Contains("\"tls_required\":true,\"tls_verify\":true"), $"{name}: {plaintext.Info}");
            Assert.True(plaintext.Answer == "<EOF>", $"{name}: {plaintext.Answer}");

            // Nothing at all: closed, again without a word, once tls.timeout has passed.
            var clock = Stopwatch.StartNew();
            var silent = await RawClient.ExchangeAsync(port, "", TimeSpan.FromSeconds(5));
            Assert.True(silent.Answer == "<EOF>", $"{name}: {silent.Answer}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"{name}: closed after {clock.Elapsed}");

            // And both serve a client with a certificate from the CA.
            await using var nats = new NatsConnection(new NatsOpts { Url = $"nats://127.0.0.1:{port}", TlsOpts = certs.ClientTls(withCertificate: true) });
            await nats.ConnectAsync();
            await nats.PingAsync();
            await using var rogue = new NatsConnection(new NatsOpts { Url = $"nats://127.0.0.1:{port}", TlsOpts = certs.RogueClientTls(), MaxReconnectRetry = 0 });
            await Assert.ThrowsAnyAsync<NatsException>(async () => await rogue.ConnectAsync());
        }
        await silo.AssertOutputContainsAsync("TLS handshake timeout");
    }

    [Fact]
    public async Task A_stalled_tls_subscriber_is_cut_off_as_a_slow_consumer()
    {
        using var certs = TestCertificates.Create();
        var config = await PermissionsTests.WriteConfigAsync("max_pending: 1MB\nwrite_deadline: \"2s\"\n" + certs.Config(verify: false));
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);

        using var stalled = new TcpClient { ReceiveBufferSize = 4096 };
        await stalled.ConnectAsync("127.0.0.1", silo.Port);
        var raw = stalled.GetStream();
        var buffer = new byte[16 * 1024];
        var info = new StringBuilder();
        while (!info.ToString().Contains("\r\n"))
            info.Append(Encoding.ASCII.GetString(buffer, 0, await raw.ReadAsync(buffer.AsMemory(0, 1))));
        await using var ssl = new SslStream(raw, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync("localhost");
        await ssl.WriteAsync(Encoding.ASCII.GetBytes("CONNECT {\"verbose\":false}\r\nSUB flood 1\r\nPING\r\n"));
        var greeting = new StringBuilder();
        while (!greeting.ToString().Contains("PONG"))
            greeting.Append(Encoding.ASCII.GetString(buffer, 0, await ssl.ReadAsync(buffer)));

        var tls = certs.ClientTls(withCertificate: false);
        await using var healthy = new NatsConnection(new NatsOpts { Url = silo.Url, TlsOpts = tls });
        await using var publisher = new NatsConnection(new NatsOpts { Url = silo.Url, TlsOpts = tls });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Core.SlowConsumerTests.FloodAsync(healthy, publisher, cts.Token);
        var varz = await Monitoring.MonitorHttp.GetJsonAsync(silo.HttpPort, "/varz");
        Assert.True(varz.GetProperty("slow_consumers").GetInt64() >= 1, varz.ToString());

        // The server lets go of the stalled connection while it still reads nothing (no flush of the rest waits for
        // it), then draining it ends rather than blocking forever.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while ((await Monitoring.MonitorHttp.GetJsonAsync(silo.HttpPort, "/connz")).GetProperty("num_connections").GetInt32() != 2
               && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.Equal(2, (await Monitoring.MonitorHttp.GetJsonAsync(silo.HttpPort, "/connz")).GetProperty("num_connections").GetInt32());
        try
        {
            while (await ssl.ReadAsync(buffer, cts.Token) > 0)
            {
            }
        }
        catch (IOException)
        {
        }
    }

    [SkippableFact]
    public async Task Monitoring_shows_tls_like_nats_server()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        using var certs = TestCertificates.Create();
        var config = await PermissionsTests.WriteConfigAsync(certs.Config(verify: true));
        await using var reference = await NatsServerProcess.StartAsync(jetStream: false, monitoring: true, "-c", config);
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);
        var answers = new List<(JsonElement Varz, JsonElement Connz)>();
        foreach (var (port, httpPort) in new[] { (reference.Port, reference.HttpPort), (silo.Port, silo.HttpPort) })
        {
            await using var nats = new NatsConnection(new NatsOpts { Url = $"nats://127.0.0.1:{port}", TlsOpts = certs.ClientTls(withCertificate: true) });
            await nats.ConnectAsync();
            await nats.PingAsync();
            answers.Add((await Monitoring.MonitorHttp.GetJsonAsync(httpPort, "/varz"), await Monitoring.MonitorHttp.GetJsonAsync(httpPort, "/connz")));
        }
        var (r, s) = (answers[0], answers[1]);
        foreach (var field in new[] { "tls_required", "tls_verify", "tls_timeout", "auth_timeout" })
            Assert.True(r.Varz.GetProperty(field).GetRawText() == s.Varz.GetProperty(field).GetRawText(), $"varz.{field}: {r.Varz.GetProperty(field)} vs {s.Varz.GetProperty(field)}");
        Assert.Equal("3", s.Varz.GetProperty("auth_timeout").GetRawText());
        var rc = r.Connz.GetProperty("connections").EnumerateArray().Last();
        var sc = s.Connz.GetProperty("connections").EnumerateArray().Last();
        Assert.Equal(rc.GetProperty("tls_version").GetString(), sc.GetProperty("tls_version").GetString());
        Assert.StartsWith("TLS_", sc.GetProperty("tls_cipher_suite").GetString());
        Assert.StartsWith("TLS_", rc.GetProperty("tls_cipher_suite").GetString());
    }

    [Fact]
    public async Task A_missing_key_file_stops_the_start_naming_file_line_and_key()
    {
        using var certs = TestCertificates.Create();
        var missing = Path.Combine(certs.Directory, "missing.key");
        var config = await PermissionsTests.WriteConfigAsync(
            $"port: 4222\ntls {{\n  cert_file: \"{certs.ServerCert}\"\n  key_file: \"{missing}\"\n}}\n");
        var (exitCode, output) = await SiloProcess.RunToExitAsync("-c", config);
        Assert.Equal(1, exitCode);
        Assert.Contains($"{config}:4: invalid value for \"tls.key_file\"", output);
        Assert.Contains(missing, output);

        (exitCode, output) = await SiloProcess.RunToExitAsync("-p", "-1", "--tls");
        Assert.Equal(1, exitCode);
        Assert.Contains("TLS Server certificate must be present and valid", output);
        (exitCode, output) = await SiloProcess.RunToExitAsync("-p", "-1", "--tlscert", certs.ServerCert, "--tlskey", missing);
        Assert.Equal(1, exitCode);
        Assert.Contains("error parsing X509 certificate/key pair", output);
    }

    [Fact]
    public void Tls_block_keys_and_their_errors()
    {
        using var certs = TestCertificates.Create();
        var settings = new SiloSettings();
        ConfigApplier.Apply(ConfigFile.Parse(certs.Config(verify: true, timeout: "0.5"), "test.conf"), settings);
        var tls = settings.Nats.Tls!;
        Assert.Equal((certs.ServerCert, certs.ServerKey, certs.CaCert, true, TimeSpan.FromMilliseconds(500)),
            (tls.CertFile, tls.KeyFile, tls.CaFile, tls.Verify, tls.Timeout));
        ConfigApplier.Apply(ConfigFile.Parse(certs.Config(verify: false, timeout: "\"3s\""), "test.conf"), settings);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.Nats.Tls!.Timeout);

        string Error(string block)
        {
            var text = $"port: 4222\ntls {{\n{block}\n}}\n";
            return Assert.Throws<ConfigException>(() => ConfigApplier.Apply(ConfigFile.Parse(text, "test.conf"), new SiloSettings())).Message;
        }
        var cert = $"  cert_file: \"{certs.ServerCert}\"";
        var key = $"  key_file: \"{certs.ServerKey}\"";
        Assert.StartsWith("test.conf:2: missing 'key_file' in TLS configuration", Error(cert));
        Assert.StartsWith("test.conf:2: missing 'cert_file' in TLS configuration", Error(key));
        Assert.StartsWith("test.conf:5: unsupported configuration key \"tls.bogus\"", Error($"{cert}\n{key}\n  bogus: 1"));
        Assert.StartsWith("test.conf:5: invalid value for \"tls.timeout\"", Error($"{cert}\n{key}\n  timeout: soon"));
        Assert.StartsWith("test.conf:5: invalid value for \"tls.verify\"", Error($"{cert}\n{key}\n  verify: maybe"));
        Assert.StartsWith("test.conf:5: invalid value for \"tls.ca_file\"", Error($"{cert}\n{key}\n  ca_file: \"{certs.Directory}/none.pem\""));
        // A key that does not belong to the certificate: the pair is refused, at the cert_file line.
        Assert.StartsWith("test.conf:3: error parsing X509 certificate/key pair",
            Error($"{cert}\n  key_file: \"{certs.ClientKey}\""));
    }
}

/// <summary>A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and a client from another CA, as PEM files.</summary>
internal sealed class TestCertificates : IDisposable
{
    private TestCertificates(string directory) => Directory = directory;

    public string Directory { get; }
    public string CaCert => Path.Combine(Directory, "ca.pem");
    public string ServerCert => Path.Combine(Directory, "server.pem");
    public string ServerKey => Path.Combine(Directory, "server.key");
    public string ClientCert => Path.Combine(Directory, "client.pem");
    public string ClientKey => Path.Combine(Directory, "client.key");
    public string RogueCert => Path.Combine(Directory, "rogue.pem");
    public string RogueKey => Path.Combine(Directory, "rogue.key");

    public string Config(bool verify, string? timeout = null)
    {
        var text = $"tls {{\n  cert_file: \"{ServerCert}\"\n  key_file: \"{ServerKey}\"\n  ca_file: \"{CaCert}\"\n";
        if (verify)
            text += "  verify: true\n";
        if (timeout is not null)
            text += $"  timeout: {timeout}\n";
        return text + "}\n";
    }

    public NatsTlsOpts ClientTls(bool withCertificate) => withCertificate
        ? new NatsTlsOpts { Mode = TlsMode.Require, CaFile = CaCert, CertFile = ClientCert, KeyFile = ClientKey }
        : new NatsTlsOpts { Mode = TlsMode.Require, CaFile = CaCert };

    /// <summary>Trusts the server, but presents a certificate its own CA signed.</summary>
    public NatsTlsOpts RogueClientTls() => new() { Mode = TlsMode.Require, CaFile = CaCert, CertFile = RogueCert, KeyFile = RogueKey };

    public static TestCertificates Create()
    {
        var certs = new TestCertificates(Path.Combine(Path.GetTempPath(), "tls-test-" + Guid.NewGuid().ToString("N")));
        System.IO.Directory.CreateDirectory(certs.Directory);
        using var ca = Authority("Test CA");
        File.WriteAllText(certs.CaCert, ca.ExportCertificatePem());
        Issue(ca, "localhost", serverAuth: true, certs.ServerCert, certs.ServerKey);
        Issue(ca, "client", serverAuth: false, certs.ClientCert, certs.ClientKey);
        using var rogueCa = Authority("Rogue CA");
        Issue(rogueCa, "client", serverAuth: false, certs.RogueCert, certs.RogueKey);
        return certs;
    }

    private static X509Certificate2 Authority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static void Issue(X509Certificate2 ca, string name, bool serverAuth, string certPath, string keyPath)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        if (serverAuth)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var certificate = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-30), DateTimeOffset.UtcNow.AddHours(12), serial);
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }
}
