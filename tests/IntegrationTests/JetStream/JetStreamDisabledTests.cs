using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>Without -js nobody serves $JS.API: requests get the 503 no-responders status, as from nats-server.</summary>
public sealed class JetStreamDisabledTests
{
    private const string Connect = "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true}\r\nSUB _R.> 1\r\n";

    [SkippableFact]
    public async Task JetStream_requests_without_jetstream_get_no_responders_like_nats_server()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        await using var reference = await NatsServerProcess.StartAsync(jetStream: false, monitoring: false);
        await using var silo = await SiloProcess.StartAsync(jetStream: false);
        foreach (var request in new[] { "PUB $JS.API.INFO _R.1 0\r\n\r\n", "PUB $JS.API.STREAM.CREATE.X _R.2 12\r\n{\"name\":\"X\"}\r\n", "PUB orders.new _R.3 2\r\nhi\r\n" })
        {
            var script = Connect + request + "PING\r\n";
            var expected = await RawClient.ExchangeAsync(reference.Port, script);
            var actual = await RawClient.ExchangeAsync(silo.Port, script);
            Assert.Contains("NATS/1.0 503", expected.Answer);
            Assert.Equal(expected.Answer, actual.Answer);
            Assert.Contains("\"jetstream\":false", actual.Info);
        }
    }
}
