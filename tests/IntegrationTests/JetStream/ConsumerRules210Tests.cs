using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// Consumer creation as nats-server 2.10 rules it, through NATS.Net: backoff and max_deliver, the create/update
/// action, and multiple filter subjects (checked, and delivering exactly what they name).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class ConsumerRules210Tests(ServersFixture servers) : SiloClientTests(servers)
{
    private readonly string _stream = "R" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Js.CreateStreamAsync(new StreamConfig(_stream, [$"{_stream}.>"]));
    }

    private async Task<JsonNode?> CreateAsync(string consumer, string config, string? action = null, string? filter = null)
    {
        var subject = filter is null ? $"$JS.API.CONSUMER.CREATE.{_stream}.{consumer}" : $"$JS.API.CONSUMER.CREATE.{_stream}.{consumer}.{filter}";
        var body = $$"""{"stream_name":"{{_stream}}","config":{{config}}{{(action is null ? "" : $",\"action\":\"{action}\"")}} }""";
        var reply = await ApiScript.RequestAsync(Nats, subject, body, null, TimeSpan.FromSeconds(5));
        return JsonNode.Parse(reply!);
    }

    private static int? ErrCode(JsonNode? reply) => (int?)reply?["error"]?["err_code"];

    [Fact]
    public async Task Backoff_bounds_max_deliver_only_when_it_is_set()
    {
        var unlimited = await Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("B1")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            Backoff = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3)],
        });
        Assert.Equal(-1, unlimited.Info.Config.MaxDeliver);
        var tooFew = await Assert.ThrowsAsync<NatsJSApiException>(() => Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("B2")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            MaxDeliver = 3,
            Backoff = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3)],
        }).AsTask());
        Assert.Equal(10116, tooFew.Error.ErrCode);
        await Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("B3")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            MaxDeliver = 4,
            Backoff = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3)],
        });
    }

    [Fact]
    public async Task Action_create_and_update_keep_their_promises()
    {
        var config = $$"""{"name":"A1","ack_policy":"explicit","filter_subjects":["{{_stream}}.a","{{_stream}}.b"],"metadata":{"k":"v"},"backoff":[1000000000]}""";
        Assert.Null((await CreateAsync("A1", config, "create"))?["error"]);
        // The same configuration again is not a conflict (arrays and metadata compare by content).
        Assert.Null((await CreateAsync("A1", config, "create"))?["error"]);
        var changed = config.Replace("\"k\":\"v\"", "\"k\":\"w\"");
        Assert.Equal(10148, ErrCode(await CreateAsync("A1", changed, "create")));
        Assert.Null((await CreateAsync("A1", changed, "update"))?["error"]);
        Assert.Equal(10149, ErrCode(await CreateAsync("A2", config.Replace("A1", "A2"), "update")));
        Assert.Equal(10025, ErrCode(await CreateAsync("A2", config.Replace("A1", "A2"), "upsert")));
    }

    [Fact]
    public async Task Filter_subjects_are_checked_as_nats_server_checks_them()
    {
        Assert.Equal(10138, ErrCode(await CreateAsync("F1", $$"""{"name":"F1","filter_subjects":["{{_stream}}.a.*","{{_stream}}.a.b"]}""")));
        Assert.Equal(10139, ErrCode(await CreateAsync("F2", $$"""{"name":"F2","filter_subjects":["{{_stream}}.a",""]}""")));
        Assert.Equal(10136, ErrCode(await CreateAsync("F3", $$"""{"name":"F3","filter_subject":"{{_stream}}.a","filter_subjects":["{{_stream}}.b"]}""")));
        Assert.Equal(10137, ErrCode(await CreateAsync("F4", $$"""{"name":"F4","filter_subjects":["{{_stream}}.a"]}""", filter: $"{_stream}.a")));
    }

    [Fact]
    public async Task Multiple_filter_subjects_deliver_exactly_what_they_name()
    {
        foreach (var subject in new[] { "a", "b", "c", "a", "d.e", "b" })
            await Js.PublishAsync($"{_stream}.{subject}", subject);
        var consumer = await Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("M1")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            FilterSubjects = [$"{_stream}.a", $"{_stream}.d.>"],
        });
        Assert.Equal(3ul, consumer.Info.NumPending);
        var got = new List<string>();
        await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 10, Expires = TimeSpan.FromSeconds(1) }))
        {
            got.Add(msg.Data!);
            await msg.AckAsync();
        }
        Assert.Equal(["a", "a", "d.e"], got);
    }
}
