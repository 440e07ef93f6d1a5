using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// 2.11's consumer priority groups with the overflow policy (ADR-42), through NATS.Net's priority group options and raw
/// API and pull requests: nats-server 2.9.10 has no priority groups, so these check nats-server 2.11's behaviour as
/// its source defines it (errors, status texts, thresholds counted before each message).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class ConsumerPriorityTests(ServersFixture servers) : SiloClientTests(servers)
{
    private readonly string _stream = "G" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

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

    private Task<INatsJSConsumer> OverflowConsumerAsync(string name) => Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig(name)
    {
        AckPolicy = ConsumerConfigAckPolicy.Explicit,
        PriorityGroups = ["jobs"],
        PriorityPolicy = ConsumerConfigPriorityPolicy.Overflow,
    }).AsTask();

    /// <summary>What one fetch in group "jobs" gets, left unacked so that ack pending grows.</summary>
    private static async Task<List<int>> FetchAsync(INatsJSConsumer consumer, int max, long minPending = 0, long minAckPending = 0, double seconds = 1)
    {
        var received = new List<int>();
        var opts = new NatsJSFetchOpts
        {
            MaxMsgs = max,
            Expires = TimeSpan.FromSeconds(seconds),
            PriorityGroup = new NatsJSPriorityGroupOpts { Group = "jobs", MinPending = minPending, MinAckPending = minAckPending },
        };
        await foreach (var msg in consumer.FetchAsync<int>(opts))
            received.Add(msg.Data);
        return received;
    }

    private async Task<JsonObject> ApiAsync(string subject, string body)
    {
        var reply = await ApiScript.RequestAsync(Nats, subject, body, null, TimeSpan.FromSeconds(5));
        Assert.NotNull(reply);
        return JsonNode.Parse(reply!)!.AsObject();
    }

    /// <summary>The status a raw pull request is answered with first ("code text"), or its first message's payload.</summary>
    private async Task<string> PullStatusAsync(string consumer, string request)
    {
        // A subscription of its own: delivered messages carry the stream's subject, which a request inbox would drop.
        var inbox = Nats.NewInbox();
        await using var sub = await Nats.SubscribeCoreAsync<byte[]>(inbox);
        await Nats.PublishAsync($"$JS.API.CONSUMER.MSG.NEXT.{_stream}.{consumer}", Encoding.UTF8.GetBytes(request), replyTo: inbox);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var reply = await sub.Msgs.ReadAsync(timeout.Token);
        return reply.Headers is { Code: not 0 } h ? $"{h.Code} {h.MessageText}" : Encoding.UTF8.GetString(reply.Data ?? []);
    }

    [Fact]
    public async Task Overflow_consumer_keeps_its_groups_and_info_reports_them()
    {
        var consumer = await OverflowConsumerAsync("over");
        Assert.Equal(ConsumerConfigPriorityPolicy.Overflow, consumer.Info.Config.PriorityPolicy);
        Assert.Equal(["jobs"], consumer.Info.Config.PriorityGroups!);

        var info = (await Js.GetConsumerAsync(_stream, "over")).Info;
        Assert.Equal(["jobs"], info.Config.PriorityGroups!);
        Assert.Equal("jobs", Assert.Single(info.PriorityGroups!).Group);

        // The same configuration again is the same consumer; other groups are a different one.
        var config = new ConsumerConfig("made")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            PriorityGroups = ["jobs"],
            PriorityPolicy = ConsumerConfigPriorityPolicy.Overflow,
        };
        await Js.CreateConsumerAsync(_stream, config);
        await Js.CreateConsumerAsync(_stream, config with { PriorityGroups = ["jobs"] });
        var other = await Assert.ThrowsAsync<NatsJSApiException>(async () => await Js.CreateConsumerAsync(_stream, config with { PriorityGroups = ["other"] }));
        Assert.Equal(10148, other.Error.ErrCode);
    }

    [Theory]
    [InlineData("\"priority_groups\":[\"jobs\"]", 10196)]
    [InlineData("\"priority_groups\":[\"jobs\"],\"priority_policy\":\"none\"", 10196)]
    [InlineData("\"priority_groups\":[\"jobs\"],\"priority_policy\":\"overflow\",\"deliver_subject\":\"out.x\"", 10178)]
    [InlineData("\"priority_policy\":\"overflow\"", 10159)]
    [InlineData("\"priority_groups\":[\"\"],\"priority_policy\":\"overflow\"", 10161)]
    [InlineData("\"priority_groups\":[\"a.b\"],\"priority_policy\":\"overflow\"", 10162)]
    [InlineData("\"priority_groups\":[\"abcdefghijklmnopq\"],\"priority_policy\":\"overflow\"", 10162)]
    public async Task Invalid_priority_configurations_get_nats_server_211_errors(string fields, int errCode)
    {
        var reply = await ApiAsync($"$JS.API.CONSUMER.CREATE.{_stream}.bad",
            $$"""{"stream_name":"{{_stream}}","config":{"name":"bad","ack_policy":"explicit",{{fields}} } }""");
        Assert.Equal(errCode, (int)reply["error"]!["err_code"]!);
        Assert.Equal(400, (int)reply["error"]!["code"]!);
    }

    [Fact]
    public async Task Pull_requests_are_checked_against_the_consumer_groups_as_nats_server_does()
    {
        await PublishAsync(0, 1);
        await OverflowConsumerAsync("over");
        var plain = await Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("plain") { AckPolicy = ConsumerConfigAckPolicy.Explicit });

        Assert.Equal("400 Bad Request - Priority Group missing", await PullStatusAsync("over", """{"batch":1,"expires":1000000000}"""));
        Assert.Equal("400 Bad Request - Invalid Priority Group", await PullStatusAsync("over", """{"batch":1,"group":"nope"}"""));
        Assert.Equal("400 Bad Request - Not a Overflow Priority consumer", await PullStatusAsync("plain", """{"batch":1,"group":"jobs","min_pending":1}"""));
        Assert.Equal("400 Bad Request - Not a Pinned Client Priority consumer", await PullStatusAsync("over", """{"batch":1,"group":"jobs","id":"X"}"""));
        // A group on a consumer without groups asks for nothing.
        Assert.Equal([0], await FetchAsync(plain, 1));
    }

    [Fact]
    public async Task Overflow_request_takes_messages_only_while_pending_or_ack_pending_reach_its_thresholds()
    {
        await PublishAsync(0, 10);
        var consumer = await OverflowConsumerAsync("over");

        // Checked before each message, that message counted: 10, 9, ..., 5 pending reach 5; then 4 pending do not.
        Assert.Equal([0, 1, 2, 3, 4, 5], await FetchAsync(consumer, 10, minPending: 5));
        Assert.Empty(await FetchAsync(consumer, 10, minPending: 5));

        // Three more make 7 pending: the request takes messages while 5 or more remain.
        await PublishAsync(10, 3);
        Assert.Equal([6, 7, 8], await FetchAsync(consumer, 10, minPending: 5));

        // Nine delivered and unacked: a request for 10 ack pending waits, one for 9 takes everything left.
        Assert.Empty(await FetchAsync(consumer, 10, minAckPending: 10));
        Assert.Equal([9, 10, 11, 12], await FetchAsync(consumer, 10, minAckPending: 9));
    }

    [Fact]
    public async Task Held_overflow_request_is_served_once_new_messages_reach_its_threshold()
    {
        var consumer = await OverflowConsumerAsync("over");
        await PublishAsync(0, 2);
        var held = FetchAsync(consumer, 1, minPending: 4, seconds: 6);
        await Task.Delay(500);
        Assert.False(held.IsCompleted);

        await PublishAsync(2, 2);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal([0], await held);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"served only after {clock.Elapsed}");
    }
}
