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
        (await PublishAsync("five seconds", "5")).EnsureSuccess();
        (await PublishAsync("no ttl", null)).EnsureSuccess();
        (await PublishAsync("never", "never")).EnsureSuccess();
        (await PublishAsync("an hour", "1h")).EnsureSuccess();
        await WaitForStoredAsync([2, 3, 4, 5], TimeSpan.FromSeconds(3));
        await WaitForStoredAsync([3, 4, 5], TimeSpan.FromSeconds(5));

        // With max_age, everything older goes, a long TTL too, except what is to live forever.
        await Js.UpdateStreamAsync(new StreamConfig(_stream, [$"{_stream}.>"]) { AllowMsgTTL = true, MaxAge = TimeSpan.FromSeconds(1) });
        await WaitForStoredAsync([4], TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task A_subjects_last_message_removed_by_age_leaves_a_delete_marker()
    {
        var created = await Js.CreateStreamAsync(new StreamConfig(_stream, [$"{_stream}.>"])
        {
            SubjectDeleteMarkerTTL = TimeSpan.FromMinutes(1),
            MaxAge = TimeSpan.FromSeconds(3),
        });
        // Markers are TTL'd rollups: nats-server turns both on.
        Assert.True(created.Info.Config.AllowMsgTTL);
        Assert.True(created.Info.Config.AllowRollupHdrs);
        var consumer = await Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("reader") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        (await Js.PublishAsync($"{_stream}.x", "1")).EnsureSuccess();
        (await Js.PublishAsync($"{_stream}.x", "2")).EnsureSuccess();
        (await Js.PublishAsync($"{_stream}.y", "3")).EnsureSuccess();
        (await Js.PublishAsync($"{_stream}.z", "4", headers: new NatsHeaders { ["Nats-TTL"] = "1s" })).EnsureSuccess();

        var originals = new List<INatsJSMsg<string>>();
        await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 4, Expires = TimeSpan.FromSeconds(2) }))
        {
            originals.Add(msg);
            await msg.AckAsync();
        }
        Assert.Equal(["1", "2", "3", "4"], originals.Select(m => m.Data));
        // A TTL shorter than the marker's is raised to it, so no reader can miss the marker.
        Assert.Equal("60", originals[3].Headers?["Nats-TTL"].ToString());

        var markers = new List<INatsJSMsg<string>>();
        await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 3, Expires = TimeSpan.FromSeconds(8) }))
        {
            markers.Add(msg);
            await msg.AckAsync();
        }
        Assert.Equal([$"{_stream}.x", $"{_stream}.y", $"{_stream}.z"], markers.Select(m => m.Subject).Order());
        foreach (var marker in markers)
        {
            Assert.True(string.IsNullOrEmpty(marker.Data));
            Assert.Equal("MaxAge", marker.Headers?["Nats-Marker-Reason"].ToString());
            Assert.Equal("1m0s", marker.Headers?["Nats-TTL"].ToString());
            Assert.Equal("sub", marker.Headers?["Nats-Rollup"].ToString());
        }

        // max_age takes the markers too, and a marker leaves no marker behind.
        var deadline = DateTime.UtcNow.AddSeconds(8);
        var stream = await Js.GetStreamAsync(_stream);
        while (stream.Info.State.Messages != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            await stream.RefreshAsync();
        }
        Assert.Equal(0L, stream.Info.State.Messages);
        Assert.Equal(7L, (long)stream.Info.State.LastSeq);
    }

    [Theory]
    [InlineData(-1_000_000_000L)]
    [InlineData(500_000_000L)]
    public async Task Subject_delete_marker_ttl_is_checked(long nanos)
    {
        var reply = await ApiScript.RequestAsync(Nats, $"$JS.API.STREAM.CREATE.{_stream}",
            $$"""{"name":"{{_stream}}","subjects":["{{_stream}}.>"],"subject_delete_marker_ttl":{{nanos}}}""", null, TimeSpan.FromSeconds(5));
        Assert.Contains("\"err_code\":10052", reply);
        Assert.Contains("subject delete marker TTL must", reply);
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
