using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// A stream's subject_transform (2.10) through NATS.Net: what a publish is stored under, with nats-server's
/// partition() (FNV-1a of the tokens, modulo the count) and wildcard() tokens, and its refusals.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class StreamSubjectTransformTests(ServersFixture servers) : SiloClientTests(servers)
{
    private readonly string _prefix = "X" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

    /// <summary>The partition nats-server documents: FNV-1a (32 bit) of the named tokens, concatenated, modulo n.</summary>
    private static uint Partition(int n, params string[] tokens)
    {
        uint hash = 2166136261;
        foreach (var b in Encoding.UTF8.GetBytes(string.Concat(tokens)))
            hash = (hash ^ b) * 16777619;
        return hash % (uint)n;
    }

    [Fact]
    public async Task Publishes_are_stored_under_the_transformed_subject()
    {
        var name = _prefix + "P";
        var s = name.ToLowerInvariant();
        await Js.CreateStreamAsync(new StreamConfig(name, [$"{s}.>"])
        {
            SubjectTransform = new SubjectTransform { Src = $"{s}.*.*", Dest = $"{s}.{{{{partition(8,1,2)}}}}.{{{{wildcard(2)}}}}.$1" },
        });
        string[] keys = ["alpha", "bravo", "charlie", "delta"];
        foreach (var key in keys)
            Assert.Null((await Js.PublishAsync($"{s}.{key}.k{key.Length}", key)).Error);
        // Not matching the source: stored as published.
        Assert.Null((await Js.PublishAsync($"{s}.one.two.three", "as-is")).Error);

        var stream = await Js.GetStreamAsync(name);
        for (int i = 0; i < keys.Length; i++)
        {
            var msg = await stream.GetAsync(new StreamMsgGetRequest { Seq = (ulong)(i + 1) });
            var key = keys[i];
            Assert.Equal($"{s}.{Partition(8, key, "k" + key.Length)}.k{key.Length}.{key}", msg.Message.Subject);
        }
        Assert.Equal($"{s}.one.two.three", (await stream.GetAsync(new StreamMsgGetRequest { Seq = 5 })).Message.Subject);

        // Consumers and last-by-subject see the stored subjects.
        var last = await stream.GetAsync(new StreamMsgGetRequest { LastBySubj = $"{s}.{Partition(8, "delta", "k5")}.k5.delta" });
        Assert.Equal(4ul, last.Message.Seq);
    }

    [Fact]
    public async Task A_full_wildcard_transform_carries_the_remaining_tokens()
    {
        var name = _prefix + "F";
        var s = name.ToLowerInvariant();
        await Js.CreateStreamAsync(new StreamConfig(name, [$"{s}.in.>"])
        {
            SubjectTransform = new SubjectTransform { Src = $"{s}.in.>", Dest = $"{s}.out.>" },
        });
        await Js.PublishAsync($"{s}.in.a.b.c", "x");
        var msg = await (await Js.GetStreamAsync(name)).GetAsync(new StreamMsgGetRequest { Seq = 1 });
        Assert.Equal($"{s}.out.a.b.c", msg.Message.Subject);
    }

    [Theory]
    [InlineData("{s}.*", "{s}.{{{{wildcard(2)}}}}", "stream subject transform from '{s}.*' to '{s}.{{{{wildcard(2)}}}}': invalid mapping destination: wildcard index out of range in {{{{wildcard(2)}}}}: [2]")]
    [InlineData("{s}.*", "{s}.{{{{nope(1)}}}}", "stream subject transform from '{s}.*' to '{s}.{{{{nope(1)}}}}': invalid mapping destination: unknown function in {{{{nope(1)}}}}")]
    [InlineData("{s}.*", "{s}.{{{{partition(3)}}}}", "stream subject transform from '{s}.*' to '{s}.{{{{partition(3)}}}}': invalid mapping destination: not enough arguments passed to the function in {{{{partition(3)}}}}")]
    [InlineData("{s}.>", "{s}.x", "stream subject transform from '{s}.>' to '{s}.x': invalid subject")]
    public async Task An_invalid_transform_is_refused_with_nats_servers_reason(string src, string dest, string reason)
    {
        var name = _prefix + "BAD" + Math.Abs(dest.GetHashCode() % 1000);
        var s = name.ToLowerInvariant();
        src = src.Replace("{s}", s).Replace("{{{{", "{{").Replace("}}}}", "}}");
        dest = dest.Replace("{s}", s).Replace("{{{{", "{{").Replace("}}}}", "}}");
        reason = reason.Replace("{s}", s).Replace("{{{{", "{{").Replace("}}}}", "}}");
        var body = new JsonObject
        {
            ["name"] = name,
            ["subjects"] = new JsonArray($"{s}.>"),
            ["subject_transform"] = new JsonObject { ["src"] = src, ["dest"] = dest },
        };
        var reply = await ApiScript.RequestAsync(Nats, $"$JS.API.STREAM.CREATE.{name}", body.ToJsonString(), null, TimeSpan.FromSeconds(5));
        var error = JsonNode.Parse(reply!)!["error"]!;
        Assert.Equal(10049, (int)error["err_code"]!);
        Assert.Equal(reason, (string)error["description"]!);
    }
}
