using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// Mirrors and sources through NATS.Net: what a mirror and a source copy from their origins (sequences, gaps,
/// filters, transforms, the Nats-Stream-Source header), origins created later, KV buckets sourcing other buckets.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class MirrorSourceTests(ServersFixture servers) : SiloClientTests(servers)
{

    private static string NewName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant();

    private async Task DeleteStreamsAsync(params string[] names)
    {
        foreach (var name in names)
            await Js.DeleteStreamAsync(name);
    }

    /// <summary>The stream's info once its last sequence reaches <paramref name="lastSeq"/> (5 s at most).</summary>
    internal static async Task<StreamInfo> UntilLastSeqAsync(INatsJSContext js, string stream, ulong lastSeq)
    {
        StreamInfo info = (await js.GetStreamAsync(stream)).Info;
        for (int i = 0; i < 100 && info.State.LastSeq < lastSeq; i++)
        {
            await Task.Delay(50);
            info = (await js.GetStreamAsync(stream)).Info;
        }
        return info;
    }

    [Fact]
    public async Task A_mirror_keeps_the_origin_sequences_and_times_and_skips_what_the_origin_deleted()
    {
        var name = NewName("MO");
        var s = name.ToLowerInvariant();
        var js = Js;
        var origin = await js.CreateStreamAsync(new StreamConfig(name, [$"{s}.>"]));
        for (int i = 1; i <= 4; i++)
            (await js.PublishAsync($"{s}.{i % 2}", $"m{i}")).EnsureSuccess();
        await origin.DeleteMessageAsync(new StreamMsgDeleteRequest { Seq = 2 });
        (await js.PublishAsync($"{s}.x", "m5")).EnsureSuccess();

        var mirror = await js.CreateStreamAsync(new StreamConfig { Name = name + "M", Mirror = new StreamSource { Name = name } });
        Assert.Null(mirror.Info.Config.Subjects);
        var info = await UntilLastSeqAsync(js, name + "M", 5);
        Assert.Equal(4, info.State.Messages);
        Assert.Equal(1ul, info.State.FirstSeq);
        Assert.Equal(1, info.State.NumDeleted);
        Assert.Equal(name, info.Mirror!.Name);
        // NATS.Net types lag as a time; the wire has nats-server's count of messages not copied yet.
        var raw = System.Text.Json.Nodes.JsonNode.Parse((await ApiScript.RequestAsync(Nats, $"$JS.API.STREAM.INFO.{name}M", "", null, TimeSpan.FromSeconds(3)))!)!;
        Assert.Equal(0, (int)raw["mirror"]!["lag"]!);
        Assert.True((long)raw["mirror"]!["active"]! >= 0);
        foreach (var seq in new ulong[] { 1, 3, 4, 5 })
        {
            var copied = (await mirror.GetAsync(new StreamMsgGetRequest { Seq = seq })).Message;
            var original = (await origin.GetAsync(new StreamMsgGetRequest { Seq = seq })).Message;
            Assert.Equal(original.Subject, copied.Subject);
            Assert.Equal(original.Data, copied.Data);
            Assert.Equal(original.Time, copied.Time);
        }
        // Publishes after the mirror exists arrive too; a mirror captures no subjects of its own.
        (await js.PublishAsync($"{s}.y", "m6")).EnsureSuccess();
        Assert.Equal(6ul, (await UntilLastSeqAsync(js, name + "M", 6)).State.LastSeq);
        await DeleteStreamsAsync(name + "M", name);
    }

    [Fact]
    public async Task Sources_copy_filtered_and_transformed_messages_with_the_source_header()
    {
        var name = NewName("SO");
        var s = name.ToLowerInvariant();
        var js = Js;
        await js.CreateStreamAsync(new StreamConfig(name + "A", [$"{s}.a.>"]));
        await js.CreateStreamAsync(new StreamConfig(name + "B", [$"{s}.b.>"]));
        (await js.PublishAsync($"{s}.a.1", "a1")).EnsureSuccess();
        (await js.PublishAsync($"{s}.a.2", "a2")).EnsureSuccess();
        (await js.PublishAsync($"{s}.b.keep", "b1")).EnsureSuccess();
        (await js.PublishAsync($"{s}.b.drop", "b2")).EnsureSuccess();
        var combined = await js.CreateStreamAsync(new StreamConfig(name, [$"{s}.own"])
        {
            Sources =
            [
                new StreamSource { Name = name + "A", OptStartSeq = 2, SubjectTransforms = [new SubjectTransform { Src = $"{s}.a.*", Dest = $"{s}.from.a.$1" }] },
                new StreamSource { Name = name + "B", FilterSubject = $"{s}.b.keep" },
            ],
        });
        (await js.PublishAsync($"{s}.own", "own")).EnsureSuccess();
        (await js.PublishAsync($"{s}.a.3", "a3")).EnsureSuccess();
        var info = await UntilLastSeqAsync(js, name, 4);
        Assert.Equal(4, info.State.Messages);
        var got = new List<(string Subject, string Data, string? Source)>();
        for (ulong seq = 1; seq <= 4; seq++)
        {
            var msg = (await combined.GetAsync(new StreamMsgGetRequest { Seq = seq })).Message;
            var headers = msg.Hdrs is null ? "" : System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(msg.Hdrs));
            var source = headers.Split("\r\n").FirstOrDefault(h => h.StartsWith("Nats-Stream-Source:"));
            got.Add((msg.Subject, System.Text.Encoding.UTF8.GetString(msg.Data.Span), source));
        }
        // Copies run in the background: order only within each source, and the stream's own publish anywhere.
        Assert.Contains(($"{s}.own", "own", null), got);
        Assert.Contains(($"{s}.b.keep", "b1", $"Nats-Stream-Source: {name}B {s}.b.keep > 1"), got);
        var fromA = got.Where(g => g.Subject.StartsWith($"{s}.from.a.")).ToList();
        Assert.Equal(
            [($"{s}.from.a.2", "a2", $"Nats-Stream-Source: {name}A {s}.a.* {s}.from.a.$1 2"), ($"{s}.from.a.3", "a3", $"Nats-Stream-Source: {name}A {s}.a.* {s}.from.a.$1 3")],
            fromA);
        Assert.Equal(2, info.Sources!.Count);
        Assert.Equal($"{s}.b.keep", info.Sources.Single(x => x.Name == name + "B").FilterSubject);
        await DeleteStreamsAsync(name, name + "A", name + "B");
    }

    [Fact]
    public async Task A_source_whose_origin_is_created_later_copies_from_it_then()
    {
        var name = NewName("LO");
        var s = name.ToLowerInvariant();
        var js = Js;
        await js.CreateStreamAsync(new StreamConfig { Name = name, Sources = [new StreamSource { Name = name + "LATE" }] });
        await js.CreateStreamAsync(new StreamConfig { Name = name + "M", Mirror = new StreamSource { Name = name + "LATE" } });
        await js.CreateStreamAsync(new StreamConfig(name + "LATE", [$"{s}.late"]));
        (await js.PublishAsync($"{s}.late", "first")).EnsureSuccess();
        (await js.PublishAsync($"{s}.late", "second")).EnsureSuccess();
        Assert.Equal(2, (await UntilLastSeqAsync(js, name, 2)).State.Messages);
        var mirror = await UntilLastSeqAsync(js, name + "M", 2);
        Assert.Equal(2, mirror.State.Messages);
        await DeleteStreamsAsync(name, name + "M", name + "LATE");
    }

    [Fact]
    public async Task A_kv_bucket_sourcing_two_buckets_serves_their_keys()
    {
        var name = NewName("kv").ToLowerInvariant();
        var kv = new NatsKVContext(Js);
        var one = await kv.CreateStoreAsync(name + "one");
        var two = await kv.CreateStoreAsync(name + "two");
        var combined = await kv.CreateStoreAsync(new NatsKVConfig(name + "all")
        {
            Sources = [new StreamSource { Name = name + "one" }, new StreamSource { Name = name + "two" }],
        });
        await one.PutAsync("k1", "from one");
        await two.PutAsync("k2", "from two");
        string? k1 = null, k2 = null;
        for (int i = 0; i < 100 && (k1 is null || k2 is null); i++)
        {
            k1 ??= await TryGetAsync(combined, "k1");
            k2 ??= await TryGetAsync(combined, "k2");
            if (k1 is null || k2 is null)
                await Task.Delay(50);
        }
        Assert.Equal("from one", k1);
        Assert.Equal("from two", k2);
        foreach (var bucket in new[] { "all", "one", "two" })
            await kv.DeleteStoreAsync(name + bucket);
    }

    private static async Task<string?> TryGetAsync(INatsKVStore store, string key)
    {
        try
        {
            return (await store.GetEntryAsync<string>(key)).Value;
        }
        catch (NatsKVKeyNotFoundException)
        {
            return null;
        }
    }
}
