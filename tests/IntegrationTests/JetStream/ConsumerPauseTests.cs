using System.Diagnostics;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// 2.11's consumer pause (ADR-42), through NATS.Net's PauseConsumerAsync/ResumeConsumerAsync and raw API requests:
/// nats-server 2.9.10 has no pause, so these check nats-server 2.11's documented behaviour. Paused, a consumer
/// delivers nothing (pull requests wait, push sends nothing, redeliveries wait too) until the time or a resume.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class ConsumerPauseTests(ServersFixture servers) : SiloClientTests(servers)
{
    private readonly string _stream = "P" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Js.CreateStreamAsync(new StreamConfig(_stream, [$"{_stream}.>"]));
    }

    private async Task PublishAsync(int count)
    {
        for (int i = 0; i < count; i++)
            (await Js.PublishAsync($"{_stream}.m", i)).EnsureSuccess();
    }

    private static async Task<List<int>> FetchAsync(INatsJSConsumer consumer, int max, TimeSpan expires)
    {
        var received = new List<int>();
        await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = max, Expires = expires }))
        {
            received.Add(msg.Data);
            await msg.AckAsync();
        }
        return received;
    }

    [Fact]
    public async Task Paused_pull_consumer_holds_new_messages_and_redeliveries_until_resumed()
    {
        await PublishAsync(3);
        var consumer = await Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("pull")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            AckWait = TimeSpan.FromSeconds(1),
        });
        // Message 0 is delivered and left unacked: its redelivery is due in a second, during the pause.
        await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 1, Expires = TimeSpan.FromSeconds(2) }))
            Assert.Equal(0, msg.Data);

        var until = DateTimeOffset.UtcNow.AddMinutes(5);
        var paused = await Js.PauseConsumerAsync(_stream, "pull", until);
        Assert.True(paused.IsPaused);
        Assert.Equal(until.ToUnixTimeMilliseconds(), paused.PauseUntil.ToUnixTimeMilliseconds());
        Assert.InRange(paused.PauseRemaining!.Value, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));

        var info = (await Js.GetConsumerAsync(_stream, "pull")).Info;
        Assert.True(info.IsPaused);
        Assert.InRange(info.PauseRemaining!.Value, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));
        Assert.Equal(until.ToUnixTimeMilliseconds(), info.Config.PauseUntil!.Value.ToUnixTimeMilliseconds());

        await Task.Delay(1200);
        Assert.Empty(await FetchAsync(consumer, 10, TimeSpan.FromSeconds(1.5)));

        Assert.True(await Js.ResumeConsumerAsync(_stream, "pull"));
        var resumed = (await Js.GetConsumerAsync(_stream, "pull")).Info;
        Assert.False(resumed.IsPaused);
        Assert.Null(resumed.PauseRemaining);
        var received = await FetchAsync(consumer, 10, TimeSpan.FromSeconds(2));
        Assert.Equal([0, 1, 2], received.Order());
    }

    [Fact]
    public async Task Pull_request_waiting_on_a_pause_is_served_when_the_pause_runs_out()
    {
        await PublishAsync(2);
        var until = DateTimeOffset.UtcNow.AddSeconds(2);
        // Paused from its creation: pause_until in the config at create.
        var consumer = await Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("timed")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            PauseUntil = until,
        });
        Assert.True(consumer.Info.IsPaused);
        var clock = Stopwatch.StartNew();
        var received = await FetchAsync(consumer, 2, TimeSpan.FromSeconds(6));
        var arrived = DateTimeOffset.UtcNow;
        Assert.Equal([0, 1], received);
        Assert.True(arrived >= until.AddMilliseconds(-50), $"delivered {until - arrived} before the pause ended");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"served only after {clock.Elapsed}");
        Assert.False((await Js.GetConsumerAsync(_stream, "timed")).Info.IsPaused);
    }

    [Fact]
    public async Task Paused_push_consumer_sends_nothing_until_resumed()
    {
        var deliver = "deliver." + _stream;
        await using var sub = await Nats.SubscribeCoreAsync<int>(deliver);
        await Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("push")
        {
            DeliverSubject = deliver,
            AckPolicy = ConsumerConfigAckPolicy.None,
            PauseUntil = DateTimeOffset.UtcNow.AddMinutes(5),
        });
        // More than one delivery batch: the resume must not bring a second delivery loop that overtakes the first.
        await PublishAsync(600);
        using (var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(1.5)))
        {
            var early = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await sub.Msgs.ReadAsync(quiet.Token));
            Assert.NotNull(early);
        }
        Assert.True(await Js.ResumeConsumerAsync(_stream, "push"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new List<int>();
        while (received.Count < 600)
            received.Add((await sub.Msgs.ReadAsync(timeout.Token)).Data);
        Assert.Equal(Enumerable.Range(0, 600), received);
    }

    [Fact]
    public async Task Update_keeps_the_pause_and_create_with_another_pause_is_no_conflict()
    {
        var config = new ConsumerConfig("kept") { AckPolicy = ConsumerConfigAckPolicy.Explicit };
        await Js.CreateOrUpdateConsumerAsync(_stream, config);
        await Js.PauseConsumerAsync(_stream, "kept", DateTimeOffset.UtcNow.AddMinutes(5));

        var updated = await Js.CreateOrUpdateConsumerAsync(_stream, config with { Description = "changed" });
        Assert.True(updated.Info.IsPaused);
        Assert.Equal("changed", updated.Info.Config.Description);
        // Action create with the same config and a different pause_until is the same consumer to nats-server.
        var again = await Js.CreateConsumerAsync(_stream, config with { Description = "changed", PauseUntil = DateTimeOffset.UtcNow.AddHours(1) });
        Assert.InRange(again.Info.PauseRemaining!.Value, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task Pause_api_answers_in_nats_servers_shape()
    {
        await Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("raw") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        var subject = $"$JS.API.CONSUMER.PAUSE.{_stream}.raw";

        var paused = await RequestAsync(subject, """{"pause_until":"2999-01-02T03:04:05.123456789Z"}""");
        Assert.Equal("io.nats.jetstream.api.v1.consumer_pause_response", (string?)paused["type"]);
        Assert.True((bool)paused["paused"]!);
        Assert.StartsWith("2999-01-02T03:04:05.1234567", (string?)paused["pause_until"]);
        Assert.True((long)paused["pause_remaining"]! > 0);

        // A time in the past is kept but pauses nothing.
        var past = await RequestAsync(subject, """{"pause_until":"2001-01-01T00:00:00Z"}""");
        Assert.False((bool)past["paused"]!);
        Assert.Equal("2001-01-01T00:00:00Z", (string?)past["pause_until"]);
        Assert.Null(past["pause_remaining"]);

        await RequestAsync(subject, """{"pause_until":"2999-01-02T03:04:05Z"}""");
        var resumed = await RequestAsync(subject, "");
        Assert.False((bool)resumed["paused"]!);
        Assert.Equal("0001-01-01T00:00:00Z", (string?)resumed["pause_until"]);
        Assert.Null(resumed["pause_remaining"]);
        Assert.False((await Js.GetConsumerAsync(_stream, "raw")).Info.IsPaused);

        Assert.Equal(10025, (int?)(await RequestAsync(subject, """{"pause_until":"""))["error"]?["err_code"]);
        Assert.Equal(10014, (int?)(await RequestAsync($"$JS.API.CONSUMER.PAUSE.{_stream}.none", "{}"))["error"]?["err_code"]);
        Assert.Equal(10059, (int?)(await RequestAsync("$JS.API.CONSUMER.PAUSE.NOSTREAM.raw", "{}"))["error"]?["err_code"]);
    }

    [Fact]
    public async Task Pause_resume_and_the_end_of_a_pause_are_advised()
    {
        await Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("adv") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        await using var advisories = await Nats.SubscribeCoreAsync<string>($"$JS.EVENT.ADVISORY.CONSUMER.PAUSE.{_stream}.adv");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        async Task<JsonNode> NextAsync() => JsonNode.Parse((await advisories.Msgs.ReadAsync(timeout.Token)).Data!)!;

        await Js.PauseConsumerAsync(_stream, "adv", DateTimeOffset.UtcNow.AddSeconds(1.5));
        var pause = await NextAsync();
        Assert.Equal("io.nats.jetstream.advisory.v1.consumer_pause", (string?)pause["type"]);
        Assert.Equal(_stream, (string?)pause["stream"]);
        Assert.Equal("adv", (string?)pause["consumer"]);
        Assert.True((bool)pause["paused"]!);
        var ended = await NextAsync();
        Assert.False((bool)ended["paused"]!);
        Assert.Equal((string?)pause["pause_until"], (string?)ended["pause_until"]);

        await Js.PauseConsumerAsync(_stream, "adv", DateTimeOffset.UtcNow.AddMinutes(5));
        Assert.True((bool)(await NextAsync())["paused"]!);
        await Js.ResumeConsumerAsync(_stream, "adv");
        var resumed = await NextAsync();
        Assert.False((bool)resumed["paused"]!);
        Assert.Equal("0001-01-01T00:00:00Z", (string?)resumed["pause_until"]);
    }

    private async Task<JsonNode> RequestAsync(string subject, string body)
        => JsonNode.Parse((await ApiScript.RequestAsync(Nats, subject, body, null, TimeSpan.FromSeconds(5)))!)!;
}

/// <summary>A pause is part of the consumer's stored config: it outlasts a kill -9 of the silo.</summary>
public sealed class ConsumerPauseRestartTests
{
    [Fact]
    public async Task Pause_survives_a_killed_silo_and_resume_then_delivers()
    {
        var silo = await SiloProcess.StartAsync();
        var dataDirectory = silo.DataDirectory;
        var until = DateTimeOffset.UtcNow.AddHours(1);
        await using (var nats = new NatsConnection(new NatsOpts { Url = silo.Url }))
        {
            var js = nats.CreateJetStreamContext();
            await js.CreateStreamAsync(new StreamConfig("PAUSED", ["paused.>"]));
            for (int i = 0; i < 3; i++)
                (await js.PublishAsync("paused.m", i)).EnsureSuccess();
            await js.CreateOrUpdateConsumerAsync("PAUSED", new ConsumerConfig("durable") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
            await js.PauseConsumerAsync("PAUSED", "durable", until);
        }
        silo.Kill();
        await silo.DisposeAsync();

        await using var restarted = await SiloProcess.StartAsync(dataDirectory: dataDirectory);
        await using var client = new NatsConnection(new NatsOpts { Url = restarted.Url });
        var context = client.CreateJetStreamContext();
        var consumer = await context.GetConsumerAsync("PAUSED", "durable");
        Assert.True(consumer.Info.IsPaused);
        Assert.Equal(until.ToUnixTimeMilliseconds(), consumer.Info.Config.PauseUntil!.Value.ToUnixTimeMilliseconds());
        var early = new List<int>();
        await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 3, Expires = TimeSpan.FromSeconds(1.5) }))
            early.Add(msg.Data);
        Assert.Empty(early);

        Assert.True(await context.ResumeConsumerAsync("PAUSED", "durable"));
        var received = new List<int>();
        await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 3, Expires = TimeSpan.FromSeconds(3) }))
        {
            received.Add(msg.Data);
            await msg.AckAsync();
        }
        Assert.Equal([0, 1, 2], received);
    }
}
