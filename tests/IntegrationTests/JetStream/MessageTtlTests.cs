using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// 2.11's per-message TTL (ADR-43) through NATS.Net: stream allow_msg_ttl and the Nats-TTL header. nats-server 2.9.10
/// has neither, so these check nats-server 2.11's documented behaviour and error codes.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class MessageTtlTests(ServersFixture servers) : SiloClientTests(servers)
{
    private readonly string _stream = "T" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

    private Task<PubAckResponse> PublishAsync(string value, string? ttl)
    {
        var headers = ttl is null ? null : new NatsHeaders { ["Nats-TTL"] = ttl };
        return Js.PublishAsync($"{_stream}.m", value, headers: headers).AsTask();
    }

    private async Task<List<ulong>> StoredAsync()
    {
        var stream = await Js.GetStreamAsync(_stream);
        var present = new List<ulong>();
        for (ulong seq = 1; seq <= stream.Info.State.LastSeq; seq++)
        {
            try
            {
                await stream.GetAsync(new StreamMsgGetRequest { Seq = seq });
                present.Add(seq);
            }
            catch (NatsJSApiException e) when (e.Error.ErrCode == 10037)
            {
            }
        }
        return present;
    }

    /// <summary>Polls until the stored sequences are <paramref name="expected"/>, or fails with what is there.</summary>
    private async Task WaitForStoredAsync(ulong[] expected, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        List<ulong> stored;
        while (!(stored = await StoredAsync()).SequenceEqual(expected) && DateTime.UtcNow < deadline)
            await Task.Delay(200);
        Assert.Equal(expected, stored);
    }

    [Fact]
    public async Task Ttl_header_is_refused_without_allow_msg_ttl_and_when_invalid()
    {
        await Js.CreateStreamAsync(new StreamConfig(_stream, [$"{_stream}.>"]));
        Assert.Equal(10166, (await PublishAsync("a", "5s")).Error?.ErrCode);
        Assert.Equal(10166, (await PublishAsync("a", "never")).Error?.ErrCode);
        Assert.Equal(10165, (await PublishAsync("a", "soon")).Error?.ErrCode);
        // Allowed from now on, and never to be switched off again.
        var updated = await Js.UpdateStreamAsync(new StreamConfig(_stream, [$"{_stream}.>"]) { AllowMsgTTL = true });
        Assert.True(updated.Info.Config.AllowMsgTTL);
        var disable = await Assert.ThrowsAsync<NatsJSApiException>(() => Js.UpdateStreamAsync(new StreamConfig(_stream, [$"{_stream}.>"])).AsTask());
        Assert.Equal(10052, disable.Error.ErrCode);

        foreach (var bad in new[] { "500ms", "0", "0s", "-5", "-5s", "5x", "1.5", "+3" })
            Assert.True((await PublishAsync("a", bad)).Error?.ErrCode == 10165, $"Nats-TTL: {bad} was not refused");
        foreach (var good in new[] { "5", "90s", "1h30m", "1.5s", "never", "NEVER" })
            Assert.True((await PublishAsync("a", good)).Error is null, $"Nats-TTL: {good} was refused");
    }

    [Fact]
    public async Task Messages_go_when_their_ttl_passes_and_never_outlives_max_age()
    {
        await Js.CreateStreamAsync(new StreamConfig(_stream, [$"{_stream}.>"]) { AllowMsgTTL = true });
        (await PublishAsync("one second", "1s")).EnsureSuccess();
        (await PublishAsync("three seconds", "3")).EnsureSuccess();
        (await PublishAsync("no ttl", null)).EnsureSuccess();
        (await PublishAsync("never", "never")).EnsureSuccess();
        (await PublishAsync("an hour", "1h")).EnsureSuccess();
        await WaitForStoredAsync([2, 3, 4, 5], TimeSpan.FromSeconds(2.5));
        await WaitForStoredAsync([3, 4, 5], TimeSpan.FromSeconds(3));

        // With max_age, everything older goes, a long TTL too, except what is to live forever.
        await Js.UpdateStreamAsync(new StreamConfig(_stream, [$"{_stream}.>"]) { AllowMsgTTL = true, MaxAge = TimeSpan.FromSeconds(1) });
        await WaitForStoredAsync([4], TimeSpan.FromSeconds(3));
    }
}

/// <summary>TTLs are kept in the stored messages: expiry goes on after a kill -9 of the silo.</summary>
public sealed class MessageTtlRestartTests
{
    [Fact]
    public async Task Ttl_expiry_resumes_after_a_killed_silo()
    {
        var silo = await SiloProcess.StartAsync();
        var dataDirectory = silo.DataDirectory;
        await using (var nats = new NatsConnection(new NatsOpts { Url = silo.Url }))
        {
            var js = nats.CreateJetStreamContext();
            await js.CreateStreamAsync(new StreamConfig("TTL", ["ttl.>"]) { AllowMsgTTL = true });
            (await js.PublishAsync("ttl.a", "short", headers: new NatsHeaders { ["Nats-TTL"] = "2s" })).EnsureSuccess();
            (await js.PublishAsync("ttl.b", "kept")).EnsureSuccess();
            (await js.PublishAsync("ttl.c", "long", headers: new NatsHeaders { ["Nats-TTL"] = "1h" })).EnsureSuccess();
        }
        silo.Kill();
        await silo.DisposeAsync();

        await using var restarted = await SiloProcess.StartAsync(dataDirectory: dataDirectory);
        await using var client = new NatsConnection(new NatsOpts { Url = restarted.Url });
        var stream = await client.CreateJetStreamContext().GetStreamAsync("TTL");
        var deadline = DateTime.UtcNow.AddSeconds(6);
        while (stream.Info.State.Messages != 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            await stream.RefreshAsync();
        }
        Assert.Equal(2L, stream.Info.State.Messages);
        Assert.Equal(2L, (long)stream.Info.State.FirstSeq);
        Assert.Equal("ttl.c", (await stream.GetAsync(new StreamMsgGetRequest { Seq = 3 })).Message.Subject);
    }
}
