using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>Streams through NATS.Net's JetStream client over TCP against the silo.</summary>
[Collection(ServersCollection.Name)]
public sealed class StreamTests(ServersFixture servers) : SiloClientTests(servers)
{
    private readonly string _prefix = "T" + Guid.NewGuid().ToString("N")[..8];

    private string Name(string suffix) => _prefix + suffix;

    [Fact]
    public async Task Create_info_names_delete()
    {
        var name = Name("CRUD");
        var stream = await Js.CreateStreamAsync(new StreamConfig(name, [$"{name}.>"]));
        Assert.Equal(name, stream.Info.Config.Name);
        Assert.Equal(StreamConfigRetention.Limits, stream.Info.Config.Retention);
        Assert.Equal(TimeSpan.FromMinutes(2), stream.Info.Config.DuplicateWindow);
        var names = new List<string>();
        await foreach (var n in Js.ListStreamNamesAsync())
            names.Add(n);
        Assert.Contains(name, names);
        var again = await Js.GetStreamAsync(name);
        Assert.Equal(0, again.Info.State.Messages);
        Assert.True(await Js.DeleteStreamAsync(name));
        var missing = await Assert.ThrowsAsync<NatsJSApiException>(() => Js.GetStreamAsync(name).AsTask());
        Assert.Equal(10059, missing.Error.ErrCode);
    }

    [Fact]
    public async Task Overlapping_subjects_are_refused()
    {
        await Js.CreateStreamAsync(new StreamConfig(Name("OV1"), [$"{Name("ov")}.>"]));
        var error = await Assert.ThrowsAsync<NatsJSApiException>(() => Js.CreateStreamAsync(new StreamConfig(Name("OV2"), [$"{Name("ov")}.a"])).AsTask());
        Assert.Equal(10065, error.Error.ErrCode);
    }

    [Fact]
    public async Task Publish_acks_sequences_and_messages_read_back()
    {
        var name = Name("PUB");
        await Js.CreateStreamAsync(new StreamConfig(name, [$"{name}.>"]));
        for (int i = 1; i <= 50; i++)
        {
            var ack = await Js.PublishAsync($"{name}.m", $"msg {i}");
            ack.EnsureSuccess();
            Assert.Equal(name, ack.Stream);
            Assert.Equal((ulong)i, ack.Seq);
        }
        var stream = await Js.GetStreamAsync(name);
        Assert.Equal(50, stream.Info.State.Messages);
        Assert.Equal(1ul, stream.Info.State.FirstSeq);
        Assert.Equal(50ul, stream.Info.State.LastSeq);
        var got = await stream.GetAsync(new StreamMsgGetRequest { Seq = 7 });
        Assert.Equal("msg 7", System.Text.Encoding.UTF8.GetString(got.Message.Data.Span));
    }

    [Fact]
    public async Task Duplicate_msg_id_returns_original_sequence()
    {
        var name = Name("DUP");
        await Js.CreateStreamAsync(new StreamConfig(name, [$"{name}.>"]));
        var first = await Js.PublishAsync($"{name}.x", "a", opts: new NatsJSPubOpts { MsgId = "id-1" });
        var second = await Js.PublishAsync($"{name}.x", "a", opts: new NatsJSPubOpts { MsgId = "id-1" });
        Assert.False(first.Duplicate);
        Assert.True(second.Duplicate);
        Assert.Equal(first.Seq, second.Seq);
        Assert.Equal(1, (await Js.GetStreamAsync(name)).Info.State.Messages);
    }

    [Fact]
    public async Task Expected_headers_are_checked()
    {
        var name = Name("EXP");
        await Js.CreateStreamAsync(new StreamConfig(name, [$"{name}.>"]));
        (await Js.PublishAsync($"{name}.a", "1", opts: new NatsJSPubOpts { MsgId = "m1" })).EnsureSuccess();
        (await Js.PublishAsync($"{name}.a", "2", opts: new NatsJSPubOpts { ExpectedLastSequence = 1 })).EnsureSuccess();
        var wrongSeq = await Js.PublishAsync($"{name}.a", "3", opts: new NatsJSPubOpts { ExpectedLastSequence = 1 });
        Assert.Equal(10071, wrongSeq.Error!.ErrCode);
        var wrongStream = await Js.PublishAsync($"{name}.a", "3", opts: new NatsJSPubOpts { ExpectedStream = "OTHER" });
        Assert.Equal(10060, wrongStream.Error!.ErrCode);
        var wrongId = await Js.PublishAsync($"{name}.a", "3", opts: new NatsJSPubOpts { ExpectedLastMsgId = "nope" });
        Assert.Equal(10070, wrongId.Error!.ErrCode);
        (await Js.PublishAsync($"{name}.b", "4", opts: new NatsJSPubOpts { ExpectedLastSubjectSequence = 0 })).EnsureSuccess();
        var wrongSubject = await Js.PublishAsync($"{name}.b", "5", opts: new NatsJSPubOpts { ExpectedLastSubjectSequence = 0 });
        Assert.Equal(10071, wrongSubject.Error!.ErrCode);
    }

    [Fact]
    public async Task Rollup_by_subject_keeps_only_the_rollup_message()
    {
        var name = Name("ROLL");
        await Js.CreateStreamAsync(new StreamConfig(name, [$"{name}.>"]) { AllowRollupHdrs = true });
        for (int i = 0; i < 5; i++)
            (await Js.PublishAsync($"{name}.k", $"v{i}")).EnsureSuccess();
        (await Js.PublishAsync($"{name}.other", "x")).EnsureSuccess();
        (await Js.PublishAsync($"{name}.k", "final", headers: new NatsHeaders { ["Nats-Rollup"] = "sub" })).EnsureSuccess();
        var info = (await Js.GetStreamAsync(name)).Info.State;
        Assert.Equal(2, info.Messages);
        Assert.Equal(7ul, info.LastSeq);
    }

    [Fact]
    public async Task Limits_discard_old_and_new()
    {
        var old = Name("LIMOLD");
        await Js.CreateStreamAsync(new StreamConfig(old, [$"{old}.>"]) { MaxMsgs = 3 });
        for (int i = 0; i < 10; i++)
            (await Js.PublishAsync($"{old}.x", i)).EnsureSuccess();
        var state = (await Js.GetStreamAsync(old)).Info.State;
        Assert.Equal(3, state.Messages);
        Assert.Equal(8ul, state.FirstSeq);

        var neu = Name("LIMNEW");
        await Js.CreateStreamAsync(new StreamConfig(neu, [$"{neu}.>"]) { MaxMsgs = 2, Discard = StreamConfigDiscard.New });
        (await Js.PublishAsync($"{neu}.x", 1)).EnsureSuccess();
        (await Js.PublishAsync($"{neu}.x", 2)).EnsureSuccess();
        var refused = await Js.PublishAsync($"{neu}.x", 3);
        Assert.Equal(10077, refused.Error!.ErrCode);
        Assert.Equal("maximum messages exceeded", refused.Error.Description);

        var perSubject = Name("LIMSUBJ");
        await Js.CreateStreamAsync(new StreamConfig(perSubject, [$"{perSubject}.>"]) { MaxMsgsPerSubject = 2 });
        for (int i = 0; i < 5; i++)
        {
            (await Js.PublishAsync($"{perSubject}.a", i)).EnsureSuccess();
            (await Js.PublishAsync($"{perSubject}.b", i)).EnsureSuccess();
        }
        Assert.Equal(4, (await Js.GetStreamAsync(perSubject)).Info.State.Messages);

        var size = Name("LIMSIZE");
        await Js.CreateStreamAsync(new StreamConfig(size, [$"{size}.>"]) { MaxMsgSize = 10 });
        var tooBig = await Js.PublishAsync($"{size}.x", new byte[11]);
        Assert.Equal(10054, tooBig.Error!.ErrCode);
    }

    [Fact]
    public async Task Max_age_expires_messages()
    {
        var name = Name("AGE");
        await Js.CreateStreamAsync(new StreamConfig(name, [$"{name}.>"]) { MaxAge = TimeSpan.FromMilliseconds(500) });
        for (int i = 0; i < 5; i++)
            (await Js.PublishAsync($"{name}.x", i)).EnsureSuccess();
        Assert.Equal(5, (await Js.GetStreamAsync(name)).Info.State.Messages);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        long messages;
        do
        {
            await Task.Delay(200);
            messages = (await Js.GetStreamAsync(name)).Info.State.Messages;
        } while (messages > 0 && DateTime.UtcNow < deadline);
        Assert.Equal(0, messages);
    }

    [Fact]
    public async Task Purge_variants()
    {
        var name = Name("PURGE");
        var stream = await Js.CreateStreamAsync(new StreamConfig(name, [$"{name}.>"]));
        for (int i = 0; i < 6; i++)
        {
            (await Js.PublishAsync($"{name}.a", i)).EnsureSuccess();
            (await Js.PublishAsync($"{name}.b", i)).EnsureSuccess();
        }
        var byFilterKeep = await stream.PurgeAsync(new StreamPurgeRequest { Filter = $"{name}.a", Keep = 2 });
        Assert.Equal(4L, (long)byFilterKeep.Purged);
        var bySeq = await stream.PurgeAsync(new StreamPurgeRequest { Seq = 6 });
        Assert.True(bySeq.Purged > 0);
        var all = await stream.PurgeAsync(new StreamPurgeRequest());
        await stream.RefreshAsync();
        Assert.Equal(0, stream.Info.State.Messages);
        Assert.Equal(13ul, stream.Info.State.FirstSeq);
        Assert.True(all.Success);
    }

    [Fact]
    public async Task Get_delete_and_direct_get()
    {
        var name = Name("GET");
        var stream = await Js.CreateStreamAsync(new StreamConfig(name, [$"{name}.>"]) { AllowDirect = true });
        (await Js.PublishAsync($"{name}.a", "one")).EnsureSuccess();
        (await Js.PublishAsync($"{name}.b", "two")).EnsureSuccess();
        (await Js.PublishAsync($"{name}.a", "three")).EnsureSuccess();

        var last = await stream.GetAsync(new StreamMsgGetRequest { LastBySubj = $"{name}.a" });
        Assert.Equal(3L, (long)last.Message.Seq);
        var direct = await stream.GetDirectAsync<string>(new StreamMsgGetRequest { LastBySubj = $"{name}.b" });
        Assert.Equal("two", direct.Data);
        Assert.Equal("2", direct.Headers!["Nats-Sequence"].ToString());
        Assert.Equal(name, direct.Headers["Nats-Stream"].ToString());

        Assert.True((await stream.DeleteMessageAsync(new StreamMsgDeleteRequest { Seq = 2 })).Success);
        var gone = await Assert.ThrowsAsync<NatsJSApiException>(() => stream.GetAsync(new StreamMsgGetRequest { Seq = 2 }).AsTask());
        Assert.Equal(10037, gone.Error.ErrCode);
        var info = await Js.GetStreamAsync(name, new StreamInfoRequest { DeletedDetails = true });
        Assert.Equal(2, info.Info.State.Messages);
        Assert.Equal(1L, (long)info.Info.State.NumDeleted);
    }

    [Fact]
    public async Task Key_value_put_get_update_create()
    {
        var kv = Nats.CreateKeyValueStoreContext();
        var bucket = Name("kv").ToLowerInvariant();
        var store = await kv.CreateStoreAsync(new NatsKVConfig(bucket) { History = 3 });
        var rev1 = await store.PutAsync("color", "red");
        var entry = await store.GetEntryAsync<string>("color");
        Assert.Equal("red", entry.Value);
        Assert.Equal(rev1, entry.Revision);
        var rev2 = await store.UpdateAsync("color", "blue", rev1);
        Assert.True(rev2 > rev1);
        await Assert.ThrowsAsync<NatsKVWrongLastRevisionException>(() => store.UpdateAsync("color", "green", rev1).AsTask());
        await store.CreateAsync("shape", "circle");
        await Assert.ThrowsAsync<NatsKVCreateException>(() => store.CreateAsync("shape", "square").AsTask());
        Assert.Equal("blue", (await store.GetEntryAsync<string>("color")).Value);
    }

    [Fact]
    public async Task Publish_to_uncaptured_subject_gets_no_responders()
    {
        // nats-server answers 503 no responders; NATS.Net retries and then reports that no stream answered.
        await Assert.ThrowsAsync<NatsJSPublishNoResponseException>(() => Js.PublishAsync(Name("nothing.here"), "x").AsTask());
    }
}
