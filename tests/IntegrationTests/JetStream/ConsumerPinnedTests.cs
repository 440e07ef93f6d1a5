using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// 2.11's pinned_client priority policy (ADR-42), through raw pull and API requests (to see the Nats-Pin-Id headers
/// and 423 statuses) and NATS.Net's pinned support: nats-server 2.9.10 has no priority groups, so these check
/// nats-server 2.11's behaviour as its source defines it.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class ConsumerPinnedTests(ServersFixture servers) : SiloClientTests(servers)
{
    private const string PinHeader = "Nats-Pin-Id";
    private readonly string _stream = "N" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Js.CreateStreamAsync(new StreamConfig(_stream, [$"{_stream}.>"]));
    }

    private async Task PublishAsync(int from, int count)
    {
        for (int i = from; i < from + count; i++)
            (await Js.PublishAsync($"{_stream}.m", i)).EnsureSuccess();
    }

    private Task<INatsJSConsumer> PinnedConsumerAsync(string name, TimeSpan? timeout = null) => Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig(name)
    {
        AckPolicy = ConsumerConfigAckPolicy.Explicit,
        PriorityGroups = ["jobs"],
        PriorityPolicy = ConsumerConfigPriorityPolicy.PinnedClient,
        PinnedTTL = timeout ?? TimeSpan.FromSeconds(30),
    }).AsTask();

    private async Task<JsonObject> ApiAsync(string subject, string body)
    {
        var reply = await ApiScript.RequestAsync(Nats, subject, body, null, TimeSpan.FromSeconds(5));
        Assert.NotNull(reply);
        return JsonNode.Parse(reply!)!.AsObject();
    }

    /// <summary>A raw pull request in group "jobs" on an inbox of its own, whose answers the test reads one by one.</summary>
    private sealed class Pull : IAsyncDisposable
    {
        private readonly INatsSub<byte[]> _sub;

        private Pull(INatsSub<byte[]> sub) => _sub = sub;

        public static async Task<Pull> StartAsync(NatsConnection nats, string stream, string consumer, int batch, double expiresSeconds, string? pinId = null)
        {
            // Not under the connection's inbox prefix: NATS.Net routes those by subject, and deliveries carry the
            // stream's subjects.
            var inbox = "pulls." + Guid.NewGuid().ToString("N");
            var sub = await nats.SubscribeCoreAsync<byte[]>(inbox);
            var id = pinId is null ? "" : $",\"id\":\"{pinId}\"";
            var request = $"{{\"batch\":{batch},\"expires\":{(long)(expiresSeconds * 1e9)},\"group\":\"jobs\"{id}}}";
            await nats.PublishAsync($"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}", Encoding.UTF8.GetBytes(request), replyTo: inbox);
            // The request is in before the test goes on (its order among others is what it checks).
            await nats.PingAsync();
            return new Pull(sub);
        }

        /// <summary>The next answer: a message as (payload, pin id), or a status as (null, "code text").</summary>
        public async Task<(int? Value, string? PinOrStatus)> NextAsync(double seconds = 5)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            var msg = await _sub.Msgs.ReadAsync(timeout.Token);
            if (msg.Headers is { Code: not 0 } status)
                return (null, $"{status.Code} {status.MessageText}");
            string? pin = msg.Headers is { } h && h.TryGetValue(PinHeader, out var values) ? values.ToString() : null;
            return (int.Parse(Encoding.UTF8.GetString(msg.Data!)), pin);
        }

        /// <summary>Whether anything at all arrives within the time.</summary>
        public async Task<bool> QuietForAsync(double seconds)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            try
            {
                await _sub.Msgs.WaitToReadAsync(timeout.Token);
                return false;
            }
            catch (OperationCanceledException)
            {
                return true;
            }
        }

        public ValueTask DisposeAsync() => _sub.DisposeAsync();
    }

    private static (int?, string?) Delivered(int value, string pin) => (value, pin);

    private static (int?, string?) Status(string status) => (null, status);

    private static string PinOf((int? Value, string? PinOrStatus) delivery)
    {
        Assert.True(delivery.Value.HasValue, $"a status instead of a message: {delivery.PinOrStatus}");
        Assert.False(string.IsNullOrEmpty(delivery.PinOrStatus), "a delivery without Nats-Pin-Id");
        return delivery.PinOrStatus!;
    }

    [Fact]
    public async Task First_request_is_pinned_and_the_others_wait_while_the_pin_is_held()
    {
        await PinnedConsumerAsync("pin");
        await using var advisories = await Nats.SubscribeCoreAsync<string>($"$JS.EVENT.ADVISORY.CONSUMER.PINNED.{_stream}.pin");
        await Nats.PingAsync();

        await using var first = await Pull.StartAsync(Nats, _stream, "pin", batch: 2, expiresSeconds: 5);
        await using var second = await Pull.StartAsync(Nats, _stream, "pin", batch: 2, expiresSeconds: 2);
        await PublishAsync(0, 3);

        var m0 = await first.NextAsync();
        var m1 = await first.NextAsync();
        var pin = PinOf(m0);
        Assert.Equal(Delivered(0, pin), m0);
        Assert.Equal(Delivered(1, pin), m1);
        Assert.Equal(22, pin.Length);

        // Message 2 is there, but the second request carries no pin: it waits until it expires.
        Assert.Equal(Status("408 Request Timeout"), await second.NextAsync());

        // The pinned client, sending its pin id back, is served.
        await using var again = await Pull.StartAsync(Nats, _stream, "pin", batch: 1, expiresSeconds: 2, pinId: pin);
        var m2 = await again.NextAsync();
        Assert.Equal(Delivered(2, pin), m2);

        var group = Assert.Single((await Js.GetConsumerAsync(_stream, "pin")).Info.PriorityGroups!);
        Assert.Equal("jobs", group.Group);
        Assert.Equal(pin, group.PinnedClientId);
        Assert.InRange(group.PinnedTs!.Value, DateTimeOffset.UtcNow.AddSeconds(-30), DateTimeOffset.UtcNow.AddSeconds(1));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var advisory = JsonNode.Parse((await advisories.Msgs.ReadAsync(timeout.Token)).Data!)!;
        Assert.Equal("io.nats.jetstream.advisory.v1.consumer_group_pinned", (string?)advisory["type"]);
        Assert.Equal(_stream, (string?)advisory["stream"]);
        Assert.Equal("pin", (string?)advisory["consumer"]);
        Assert.Equal("jobs", (string?)advisory["group"]);
        Assert.Equal(pin, (string?)advisory["pinned_id"]);
    }

    [Fact]
    public async Task Request_with_another_pin_id_gets_423()
    {
        await PinnedConsumerAsync("pin");
        await PublishAsync(0, 2);
        await using var first = await Pull.StartAsync(Nats, _stream, "pin", batch: 1, expiresSeconds: 2);
        var pin = PinOf(await first.NextAsync());

        await using var wrong = await Pull.StartAsync(Nats, _stream, "pin", batch: 1, expiresSeconds: 2, pinId: "NotThePinIdOfAnyClient");
        Assert.Equal(Status("423 Nats-Pin-Id mismatch"), await wrong.NextAsync());

        // Refused, it took nothing: message 1 is still the pinned client's.
        await using var pinned = await Pull.StartAsync(Nats, _stream, "pin", batch: 1, expiresSeconds: 2, pinId: pin);
        Assert.Equal(Delivered(1, pin), await pinned.NextAsync());

        // A consumer that is not pinned_client refuses the id as nats-server does.
        await Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("plain") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        await using var plain = await Pull.StartAsync(Nats, _stream, "plain", batch: 1, expiresSeconds: 2, pinId: pin);
        Assert.Equal(Status("400 Bad Request - Not a Pinned Client Priority consumer"), await plain.NextAsync());
    }

    [Fact]
    public async Task Pin_moves_to_a_waiting_client_once_the_pinned_one_stops_pulling_for_priority_timeout()
    {
        await PinnedConsumerAsync("pin", TimeSpan.FromSeconds(1.5));
        await using var unpinned = await Nats.SubscribeCoreAsync<string>($"$JS.EVENT.ADVISORY.CONSUMER.UNPINNED.{_stream}.pin");
        await PublishAsync(0, 1);
        var clock = Stopwatch.StartNew();
        await using var first = await Pull.StartAsync(Nats, _stream, "pin", batch: 1, expiresSeconds: 2);
        var oldPin = PinOf(await first.NextAsync());

        // The first client pulls no more: the waiting one gets message 1 once the pin ran out, pinned anew.
        await using var second = await Pull.StartAsync(Nats, _stream, "pin", batch: 1, expiresSeconds: 6);
        await PublishAsync(1, 1);
        var moved = await second.NextAsync(8);
        var elapsed = clock.Elapsed;
        var newPin = PinOf(moved);
        Assert.Equal(1, moved.Value);
        Assert.NotEqual(oldPin, newPin);
        Assert.True(elapsed >= TimeSpan.FromSeconds(1.4), $"the pin moved after {elapsed}, before priority_timeout");
        Assert.True(elapsed < TimeSpan.FromSeconds(4), $"the pin moved only after {elapsed}");

        // The old client coming back with its stale id is refused. At once: the new pin, pulled for no more, runs out
        // in its own priority_timeout, and with no pin held the same request gets 423 Nats-Wrong-Pin-Id instead (a
        // clean-clone CI run was that slow once, with the advisory read first).
        await using var stale = await Pull.StartAsync(Nats, _stream, "pin", batch: 1, expiresSeconds: 2, pinId: oldPin);
        Assert.Equal(Status("423 Nats-Pin-Id mismatch"), await stale.NextAsync());

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var advisory = JsonNode.Parse((await unpinned.Msgs.ReadAsync(timeout.Token)).Data!)!;
        Assert.Equal("io.nats.jetstream.advisory.v1.consumer_group_unpinned", (string?)advisory["type"]);
        Assert.Equal("jobs", (string?)advisory["group"]);
        Assert.Equal("timeout", (string?)advisory["reason"]);
    }

    [Fact]
    public async Task Pinned_client_that_keeps_pulling_keeps_the_pin_past_priority_timeout()
    {
        // Only a request's admission renews the pin (nats-server's setPinnedTimer), so the gap between two admissions
        // is a 0.5 s expiry plus a round trip; a 2 s timeout leaves 1.5 s for a loaded machine (1 s was not enough in CI).
        await PinnedConsumerAsync("pin", TimeSpan.FromSeconds(2));
        await PublishAsync(0, 1);
        await using var first = await Pull.StartAsync(Nats, _stream, "pin", batch: 1, expiresSeconds: 2);
        var pin = PinOf(await first.NextAsync());
        await using var waiting = await Pull.StartAsync(Nats, _stream, "pin", batch: 1, expiresSeconds: 8);

        // Each request with the pin id renews it: eight of them over 4 s, well past the 2 s timeout.
        for (int i = 0; i < 8; i++)
        {
            await using var renew = await Pull.StartAsync(Nats, _stream, "pin", batch: 1, expiresSeconds: 0.5, pinId: pin);
            Assert.Equal(Status("408 Request Timeout"), await renew.NextAsync());
        }
        await PublishAsync(1, 1);
        await using var served = await Pull.StartAsync(Nats, _stream, "pin", batch: 1, expiresSeconds: 2, pinId: pin);
        Assert.Equal(Delivered(1, pin), await served.NextAsync());
        Assert.Equal(Status("408 Request Timeout"), await waiting.NextAsync(8));
    }

    [Fact]
    public async Task Unpin_frees_the_pin_for_the_next_request_and_ends_the_pinned_request()
    {
        await PinnedConsumerAsync("pin");
        await using var unpinned = await Nats.SubscribeCoreAsync<string>($"$JS.EVENT.ADVISORY.CONSUMER.UNPINNED.{_stream}.pin");
        await PublishAsync(0, 1);
        await using var first = await Pull.StartAsync(Nats, _stream, "pin", batch: 3, expiresSeconds: 6);
        var oldPin = PinOf(await first.NextAsync());
        await using var second = await Pull.StartAsync(Nats, _stream, "pin", batch: 1, expiresSeconds: 6);

        await Js.UnpinConsumerAsync(_stream, "pin", "jobs");
        await PublishAsync(1, 1);

        // The first request still waits for two more under a pin that is gone: nats-server ends it with 423.
        var ended = await first.NextAsync();
        Assert.Equal(Status("423 Nats-Wrong-Pin-Id"), ended);
        var moved = await second.NextAsync();
        Assert.Equal(1, moved.Value);
        Assert.NotEqual(oldPin, PinOf(moved));
        Assert.Equal(PinOf(moved), Assert.Single((await Js.GetConsumerAsync(_stream, "pin")).Info.PriorityGroups!).PinnedClientId);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var advisory = JsonNode.Parse((await unpinned.Msgs.ReadAsync(timeout.Token)).Data!)!;
        Assert.Equal("admin", (string?)advisory["reason"]);
        Assert.Equal("jobs", (string?)advisory["group"]);
    }

    [Fact]
    public async Task Unpin_api_answers_in_nats_servers_shape_and_with_its_errors()
    {
        await PinnedConsumerAsync("pin");
        var subject = $"$JS.API.CONSUMER.UNPIN.{_stream}.pin";

        var ok = await ApiAsync(subject, """{"group":"jobs"}""");
        Assert.Equal("io.nats.jetstream.api.v1.consumer_unpin_response", (string?)ok["type"]);
        Assert.Null(ok["error"]);

        async Task AssertError(string subjectOf, string body, int code, int errCode, string? description = null)
        {
            var error = (await ApiAsync(subjectOf, body))["error"];
            Assert.NotNull(error);
            Assert.Equal((code, errCode), ((int)error!["code"]!, (int)error["err_code"]!));
            if (description is not null)
                Assert.Equal(description, (string?)error["description"]);
        }

        await AssertError($"$JS.API.CONSUMER.UNPIN.{_stream}.none", """{"group":"jobs"}""", 404, 10014, "consumer not found");
        await AssertError("$JS.API.CONSUMER.UNPIN.NOSTREAM.pin", """{"group":"jobs"}""", 404, 10059, "stream not found");
        await AssertError(subject, """{"group":"other"}""", 400, 10160, "Provided priority group does not exist for this consumer");
        await AssertError(subject, "{}", 400, 10025, "invalid JSON: consumer group not specified");
        await AssertError(subject, """{"group":"a.b"}""", 400, 10162);
        await AssertError(subject, """{"group":""", 400, 10025);

        var thrown = await Assert.ThrowsAsync<NatsJSApiException>(async () => await Js.UnpinConsumerAsync(_stream, "pin", "other"));
        Assert.Equal(10160, thrown.Error.ErrCode);
    }

    [Fact]
    public async Task NATS_Net_consumes_as_the_pinned_client_and_another_instance_takes_over_when_it_stops()
    {
        await PinnedConsumerAsync("pin", TimeSpan.FromSeconds(3));
        // Pulls renewing the pin well within the timeout; NATS.Net sends the pin id back on its own.
        await using var first = new PinnedConsumption<int>(await Js.GetConsumerAsync(_stream, "pin"), TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        await using var other = new PinnedConsumption<int>(await Js.GetConsumerAsync(_stream, "pin"), TimeSpan.FromSeconds(30));
        await PublishAsync(0, 3);

        var firstMessages = await first.WaitForAsync(3, 5);
        Assert.Equal([0, 1, 2], firstMessages.Select(m => m.Data));
        var pin = firstMessages[0].Pin;
        Assert.Equal(22, pin.Length);
        Assert.All(firstMessages, m => Assert.Equal(pin, m.Pin));

        // Past the timeout, the first keeps the pin by pulling: a new message is still its own.
        await Task.Delay(3500);
        await PublishAsync(3, 1);
        Assert.Equal(4, (await first.WaitForAsync(4, 5)).Count);
        Assert.Empty(await other.WaitForAsync(1, 0.5));

        // The first stops: the other is pinned once the timeout passed, and gets what follows.
        await first.StopAsync();
        // Its last pull request outlives the client by up to its expiry, and would take (and lose) what came meanwhile.
        await Task.Delay(1500);
        await PublishAsync(4, 2);
        var otherMessages = await other.WaitForAsync(2, 10);
        Assert.Equal([4, 5], otherMessages.Select(m => m.Data));
        Assert.NotEqual(pin, otherMessages[0].Pin);
        Assert.Equal(22, otherMessages[0].Pin.Length);
    }

    [Fact]
    public async Task Pinned_consumer_config_reports_priority_timeout_with_nats_servers_default()
    {
        var made = await Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("defaulted")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            PriorityGroups = ["jobs"],
            PriorityPolicy = ConsumerConfigPriorityPolicy.PinnedClient,
        });
        Assert.Equal(ConsumerConfigPriorityPolicy.PinnedClient, made.Info.Config.PriorityPolicy);
        Assert.Equal(TimeSpan.FromMinutes(2), made.Info.Config.PinnedTTL);
        // No one pinned yet: the group is listed with no client and the zero time.
        var group = Assert.Single(made.Info.PriorityGroups!);
        Assert.Equal("jobs", group.Group);
        Assert.Null(group.PinnedClientId);

        var raw = await ApiAsync($"$JS.API.CONSUMER.INFO.{_stream}.defaulted", "");
        Assert.Equal(120_000_000_000, (long)raw["config"]!["priority_timeout"]!);
        Assert.Equal("0001-01-01T00:00:00Z", (string?)raw["priority_groups"]![0]!["pinned_ts"]);
        Assert.Null(raw["priority_groups"]![0]!["pinned_client_id"]);
    }

    [Theory]
    [InlineData("\"priority_timeout\":1000000000", 10197)]
    [InlineData("\"priority_timeout\":1000000000,\"priority_policy\":\"none\"", 10197)]
    [InlineData("\"priority_policy\":\"pinned_client\"", 10159)]
    [InlineData("\"priority_groups\":[\"jobs\"],\"priority_policy\":\"pinned_client\",\"deliver_subject\":\"out.x\"", 10178)]
    [InlineData("\"priority_groups\":[\"a b\"],\"priority_policy\":\"pinned_client\"", 10162)]
    public async Task Invalid_pinned_configurations_get_nats_server_211_errors(string fields, int errCode)
    {
        var reply = await ApiAsync($"$JS.API.CONSUMER.CREATE.{_stream}.bad",
            $$"""{"stream_name":"{{_stream}}","config":{"name":"bad","ack_policy":"explicit",{{fields}} } }""");
        Assert.Equal(errCode, (int)reply["error"]!["err_code"]!);
        Assert.Equal(400, (int)reply["error"]!["code"]!);
    }
}
