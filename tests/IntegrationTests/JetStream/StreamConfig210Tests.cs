using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// 2.10's stream and consumer configuration fields through NATS.Net against the silo: each one the user sets is kept
/// and returned as set (nothing silently dropped), and a field the silo does not know is refused by name.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class StreamConfig210Tests(ServersFixture servers) : SiloClientTests(servers)
{
    private readonly string _prefix = "C" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

    private async Task<JsonObject> RequestAsync(string subject, string body)
    {
        var reply = await ApiScript.RequestAsync(Nats, subject, body, null, TimeSpan.FromSeconds(5));
        Assert.NotNull(reply);
        return JsonNode.Parse(reply!)!.AsObject();
    }

    [Fact]
    public async Task Every_210_stream_field_is_kept_and_returned_as_set()
    {
        var name = _prefix + "ALL";
        var s = name.ToLowerInvariant();
        var asked = JsonNode.Parse($$$"""
            {
              "name": "{{{name}}}", "subjects": ["{{{s}}}.in.>"], "compression": "s2", "first_seq": 100,
              "metadata": {"team": "parity", "k": "v"}, "allow_direct": true, "mirror_direct": true,
              "max_msgs_per_subject": 5, "discard": "new", "discard_new_per_subject": true,
              "subject_transform": {"src": "{{{s}}}.in.*.>", "dest": "{{{s}}}.stored.{{partition(4,1)}}.{{wildcard(1)}}.>"},
              "republish": {"src": "{{{s}}}.>", "dest": "{{{s}}}-rp.>", "headers_only": true},
              "placement": {"cluster": "c1", "tags": ["a", "b"]},
              "consumer_limits": {"inactive_threshold": 60000000000, "max_ack_pending": 50}
            }
            """)!.AsObject();
        var created = await RequestAsync($"$JS.API.STREAM.CREATE.{name}", asked.ToJsonString());
        Assert.Null(created["error"]);
        var info = await RequestAsync($"$JS.API.STREAM.INFO.{name}", "");
        foreach (var answer in new[] { created, info })
        {
            var config = answer["config"]!.AsObject();
            foreach (var (field, value) in asked)
                Assert.True(JsonNode.DeepEquals(value, config[field]), $"{field}: asked {value?.ToJsonString()}, got {config[field]?.ToJsonString()}");
        }

        // NATS.Net reads them back into its own types.
        var stream = await Js.GetStreamAsync(name);
        Assert.Equal(StreamConfigCompression.S2, stream.Info.Config.Compression);
        Assert.Equal("parity", stream.Info.Config.Metadata!["team"]);
        Assert.Equal($"{s}.in.*.>", stream.Info.Config.SubjectTransform!.Src);
        Assert.True(stream.Info.Config.Republish!.HeadersOnly);

        // first_seq: the first message stored takes that sequence.
        var ack = await Js.PublishAsync($"{s}.in.x.y", "m");
        Assert.Null(ack.Error);
        Assert.Equal(100ul, ack.Seq);

        // The same configuration again is the same stream (no "different configuration" refusal).
        var again = await RequestAsync($"$JS.API.STREAM.CREATE.{name}", asked.ToJsonString());
        Assert.Null(again["error"]);
    }

    [Fact]
    public async Task A_field_the_silo_does_not_know_is_refused_by_name()
    {
        var name = _prefix + "NEW";
        var refused = await RequestAsync($"$JS.API.STREAM.CREATE.{name}",
            $$"""{"name":"{{name}}","subjects":["{{name}}.>"],"allow_msg_schedules":true}""");
        Assert.Equal(10052, (int)refused["error"]!["err_code"]!);
        Assert.Contains("allow_msg_schedules", (string)refused["error"]!["description"]!);
        Assert.Null((await RequestAsync($"$JS.API.STREAM.INFO.{name}", ""))["config"]);

        // Left at its empty value it asks for nothing, and the stream is made.
        var accepted = await RequestAsync($"$JS.API.STREAM.CREATE.{name}",
            $$"""{"name":"{{name}}","subjects":["{{name}}.>"],"allow_msg_schedules":false}""");
        Assert.Null(accepted["error"]);

        var consumer = await RequestAsync($"$JS.API.CONSUMER.CREATE.{name}.C1",
            $$"""{"stream_name":"{{name}}","config":{"name":"C1","ack_policy":"explicit","sourcing":true} }""");
        Assert.Equal(10052, (int)consumer["error"]!["err_code"]!);
        Assert.Contains("sourcing", (string)consumer["error"]!["description"]!);
    }

    [Theory]
    [InlineData("\"mirror\":{\"name\":\"O\"},\"first_seq\":5", 10143)]
    [InlineData("\"mirror\":{\"name\":\"O\",\"filter_subject\":\"a\",\"subject_transforms\":[{\"src\":\"b\",\"dest\":\"c\"}]}", 10150)]
    [InlineData("\"mirror\":{\"name\":\"O\",\"subject_transforms\":[{\"src\":\"a.*\",\"dest\":\"x\"},{\"src\":\"a.b\",\"dest\":\"y\"}]}", 10152)]
    [InlineData("\"mirror\":{\"name\":\"\"}", 10142)]
    [InlineData("\"sources\":[{\"name\":\"O\"},{\"name\":\"O\"}]", 10140)]
    [InlineData("\"sources\":[{\"name\":\"a.b\"}]", 10141)]
    [InlineData("\"sources\":[{\"name\":\"O\",\"filter_subject\":\"a\",\"subject_transforms\":[{\"src\":\"b\",\"dest\":\"c\"}]}]", 10144)]
    [InlineData("\"sources\":[{\"name\":\"O\",\"subject_transforms\":[{\"src\":\"a\",\"dest\":\"{{wildcard(1)}}\"}]}]", 10146)]
    [InlineData("\"sources\":[{\"name\":\"O\",\"subject_transforms\":[{\"src\":\">\",\"dest\":\"x.>\"},{\"src\":\"a\",\"dest\":\"y\"}]}]", 10147)]
    public async Task Invalid_mirror_and_source_configurations_get_the_210_errors(string fields, int errCode)
    {
        var name = _prefix + "MIR";
        var reply = await RequestAsync($"$JS.API.STREAM.CREATE.{name}", $$"""{"name":"{{name}}",{{fields}} }""");
        Assert.Equal(errCode, (int)reply["error"]!["err_code"]!);
    }

    [Fact]
    public async Task A_source_in_another_domain_is_refused_by_name()
    {
        var name = _prefix + "EXT";
        var reply = await RequestAsync($"$JS.API.STREAM.CREATE.{name}", $$"""{"name":"{{name}}","sources":[{"name":"O","external":{"api":"$JS.hub.API"} }] }""");
        Assert.Equal(10052, (int)reply["error"]!["err_code"]!);
        Assert.Contains("external api prefix '$JS.hub.API'", (string)reply["error"]!["description"]!);
    }

    [Fact]
    public async Task Consumer_limits_default_and_bound_the_stream_consumers()
    {
        var name = _prefix + "CL";
        var created = await RequestAsync($"$JS.API.STREAM.CREATE.{name}",
            $$"""{"name":"{{name}}","subjects":["{{name}}.>"],"consumer_limits":{"max_ack_pending":7,"inactive_threshold":30000000000} }""");
        Assert.Null(created["error"]);
        var consumer = await Js.CreateOrUpdateConsumerAsync(name, new ConsumerConfig { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        Assert.Equal(7, consumer.Info.Config.MaxAckPending);
        Assert.Equal(TimeSpan.FromSeconds(30), consumer.Info.Config.InactiveThreshold);
        var excess = await Assert.ThrowsAsync<NatsJSApiException>(() =>
            Js.CreateOrUpdateConsumerAsync(name, new ConsumerConfig("BIG") { AckPolicy = ConsumerConfigAckPolicy.Explicit, MaxAckPending = 8 }).AsTask());
        Assert.Equal(10121, excess.Error.ErrCode);
        Assert.Equal("consumer max ack pending exceeds system limit of 7", excess.Error.Description);
    }
}
