using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.JetStream.Models;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// 2.12's atomic batch publish (ADR-50) through NATS.Net over TCP: a stream with allow_atomic stages the messages of a
/// batch (Nats-Batch-Id, Nats-Batch-Sequence) and stores them all at once when one carries Nats-Batch-Commit. NATS.Net
/// 3.3.2 has neither the config field nor batch publishing, so streams are made with raw API requests and batch
/// messages go as requests whose replies are read as text. nats-server 2.9.10 has no batches: these check nats-server
/// 2.12's semantics and err_codes (server/stream.go processJetStreamAtomicBatchMsg).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class AtomicBatchTests(ServersFixture servers) : SiloClientTests(servers)
{
    private readonly string _stream = "B" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

    private async Task<JsonObject> ApiAsync(string subject, string body)
    {
        var reply = await ApiScript.RequestAsync(Nats, subject, body, null, TimeSpan.FromSeconds(10));
        Assert.NotNull(reply);
        return JsonNode.Parse(reply!)!.AsObject();
    }

    private Task<JsonObject> CreateAsync(bool atomic, string? name = null)
    {
        name ??= _stream;
        var atomicField = atomic ? ",\"allow_atomic\":true" : "";
        return ApiAsync($"$JS.API.STREAM.CREATE.{name}", $"{{\"name\":\"{name}\",\"subjects\":[\"{name}.>\"],\"storage\":\"file\"{atomicField}}}");
    }

    /// <summary>One message of a batch, sent as a request: the reply text ("" for a staged message), null for none.</summary>
    private Task<string?> SendAsync(string subject, string batch, string? sequence, string body, string? commit = null, params (string, string)[] more)
    {
        var headers = new List<(string, string)> { ("Nats-Batch-Id", batch) };
        if (sequence is not null)
            headers.Add(("Nats-Batch-Sequence", sequence));
        if (commit is not null)
            headers.Add(("Nats-Batch-Commit", commit));
        headers.AddRange(more);
        return ApiScript.RequestAsync(Nats, $"{_stream}.{subject}", body, [.. headers], TimeSpan.FromSeconds(5));
    }

    private static int ErrCode(string? reply)
    {
        Assert.False(string.IsNullOrEmpty(reply), "no error reply");
        var error = JsonNode.Parse(reply!)!["error"];
        Assert.True(error is not null, reply);
        return (int)error!["err_code"]!;
    }

    private static async Task<JsonObject> ReadAdvisoryAsync(NATS.Client.Core.INatsSub<string> advisories)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var message = await advisories.Msgs.ReadAsync(timeout.Token);
        return JsonNode.Parse(message.Data!)!.AsObject();
    }

    private async Task<ulong> MessagesAsync() => (ulong)(await Js.GetStreamAsync(_stream)).Info.State.Messages;

    [Fact]
    public async Task A_committed_batch_is_stored_whole_in_order_and_only_its_commit_is_acked()
    {
        var created = await CreateAsync(atomic: true);
        Assert.True((bool?)created["config"]!["allow_atomic"], created.ToJsonString());

        // Staged messages get an empty reply and are not in the stream.
        Assert.Equal("", await SendAsync("a", "b1", "1", "one"));
        Assert.Equal("", await SendAsync("b", "b1", "2", "two"));
        Assert.Equal("", await SendAsync("a", "b1", "3", "three"));
        Assert.Equal(0UL, await MessagesAsync());
        // A plain publish meanwhile is stored at once, ahead of the batch.
        var plain = await ApiScript.RequestAsync(Nats, $"{_stream}.plain", "plain", null, TimeSpan.FromSeconds(5));
        Assert.Equal($"{{\"stream\":\"{_stream}\", \"seq\":1}}", plain);

        var ack = await SendAsync("c", "b1", "4", "four", "1");
        // nats-server's ack of a commit, byte for byte: the last sequence, the batch id and how many it stored.
        Assert.Equal($"{{\"stream\":\"{_stream}\", \"seq\":5,\"batch\":\"b1\",\"count\":4}}", ack);

        var stream = await Js.GetStreamAsync(_stream);
        Assert.Equal(5L, stream.Info.State.Messages);
        string[] bodies = ["plain", "one", "two", "three", "four"];
        string[] subjects = ["plain", "a", "b", "a", "c"];
        for (int i = 0; i < 5; i++)
        {
            var message = await stream.GetAsync(new StreamMsgGetRequest { Seq = (ulong)i + 1 });
            Assert.Equal(bodies[i], Encoding.UTF8.GetString(message.Message.Data.Span));
            Assert.Equal($"{_stream}.{subjects[i]}", message.Message.Subject);
            if (i > 0)
            {
                var headers = Encoding.UTF8.GetString(Convert.FromBase64String(message.Message.Hdrs!));
                Assert.Contains("Nats-Batch-Id: b1", headers);
                Assert.Contains($"Nats-Batch-Sequence: {i}", headers);
            }
        }
    }

    [Fact]
    public async Task A_batch_never_committed_is_never_visible_and_a_gap_drops_the_batch()
    {
        await CreateAsync(atomic: true);
        var consumer = await Js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig("watch") { AckPolicy = ConsumerConfigAckPolicy.None });
        await using var advisories = await Nats.SubscribeCoreAsync<string>($"$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.{_stream}");
        await Nats.PingAsync();

        Assert.Equal("", await SendAsync("x", "open", "1", "never"));
        Assert.Equal("", await SendAsync("x", "open", "2", "never"));
        Assert.Equal("", await SendAsync("x", "gap", "1", "g1"));
        Assert.Equal("", await SendAsync("x", "gap", "2", "g2"));
        // Sequence 4 after 2: the batch is incomplete and dropped.
        Assert.Equal(10176, ErrCode(await SendAsync("x", "gap", "4", "g4")));
        var advisory = await ReadAdvisoryAsync(advisories);
        Assert.Equal("io.nats.jetstream.advisory.v1.stream_batch_abandoned", (string?)advisory["type"]);
        Assert.Equal(_stream, (string?)advisory["stream"]);
        Assert.Equal("gap", (string?)advisory["batch"]);
        Assert.Equal("incomplete", (string?)advisory["reason"]);
        // Its commit then refers to a batch that no longer exists.
        var commit = await SendAsync("x", "gap", "5", "g5", "1");
        Assert.Equal(10176, ErrCode(commit));
        Assert.Contains("\"description\":\"atomic publish batch is incomplete\"", commit);
        // Nor does a sequence 3 bring it back.
        Assert.Equal(10176, ErrCode(await SendAsync("x", "gap", "3", "g3", "1")));

        Assert.Equal(0UL, await MessagesAsync());
        var fetched = 0;
        await foreach (var _ in consumer.FetchNoWaitAsync<string>(new NATS.Client.JetStream.NatsJSFetchOpts { MaxMsgs = 10 }))
            fetched++;
        Assert.Equal(0, fetched);

        // A new batch under the gap's id starts over at 1 and commits.
        Assert.Equal("", await SendAsync("x", "gap", "1", "again"));
        Assert.Contains("\"count\":2", await SendAsync("x", "gap", "2", "again", "1"));
        Assert.Equal(2UL, await MessagesAsync());
    }

    [Fact]
    public async Task A_batch_to_a_stream_without_allow_atomic_is_refused()
    {
        await CreateAsync(atomic: false);
        var reply = await SendAsync("x", "b", "1", "body");
        Assert.Equal($"{{\"error\":{{\"code\":400,\"err_code\":10174,\"description\":\"atomic publish is disabled\"}},\"stream\":\"{_stream}\",\"seq\":0}}", reply);
        Assert.Equal(10174, ErrCode(await SendAsync("x", "b", "2", "body", "1")));
        Assert.Equal(0UL, await MessagesAsync());
    }

    [Fact]
    public async Task Bad_batch_messages_get_nats_servers_errors()
    {
        await CreateAsync(atomic: true);
        // No sequence, or one that is no number.
        Assert.Equal(10175, ErrCode(await SendAsync("x", "b", null, "body")));
        Assert.Equal(10175, ErrCode(await SendAsync("x", "b", "one", "body")));
        // An id longer than 64 bytes.
        Assert.Equal(10179, ErrCode(await SendAsync("x", new string('i', 65), "1", "body")));
        // A first message past the largest batch: too large rather than incomplete.
        var large = await SendAsync("x", "big", "1001", "body", "1");
        Assert.Equal(10199, ErrCode(large));
        Assert.Contains("atomic publish batch is too large: 1000", large);
        Assert.Equal(10176, ErrCode(await SendAsync("x", "late", "7", "body")));
        // A commit value other than 1 or eob drops the batch.
        Assert.Equal("", await SendAsync("x", "commit", "1", "body"));
        Assert.Equal(10200, ErrCode(await SendAsync("x", "commit", "2", "body", "yes")));
        Assert.Equal(10176, ErrCode(await SendAsync("x", "commit", "3", "body", "1")));
        // Nats-Expected-Last-Msg-Id has no meaning inside a batch.
        Assert.Equal("", await SendAsync("x", "hdr", "1", "body", null, ("Nats-Expected-Last-Msg-Id", "m")));
        var unsupported = await SendAsync("x", "hdr", "2", "body", "1");
        Assert.Equal(10177, ErrCode(unsupported));
        Assert.Contains("atomic publish unsupported header used: Nats-Expected-Last-Msg-Id", unsupported);
        // The same msg id twice in a batch, or one already stored.
        Assert.Equal("", await SendAsync("x", "dup", "1", "body", null, ("Nats-Msg-Id", "m1")));
        Assert.Equal(10201, ErrCode(await SendAsync("x", "dup", "2", "body", "1", ("Nats-Msg-Id", "m1"))));
        Assert.Contains("\"count\":1", await SendAsync("x", "ok", "1", "body", "1", ("Nats-Msg-Id", "m2")));
        Assert.Equal(10201, ErrCode(await SendAsync("x", "dup2", "1", "body", "1", ("Nats-Msg-Id", "m2"))));
        // Nats-Expected-Last-Sequence only on the first message of a batch.
        Assert.Equal("", await SendAsync("x", "els", "1", "body", null, ("Nats-Expected-Last-Sequence", "1")));
        Assert.Equal(10164, ErrCode(await SendAsync("x", "els", "2", "body", "1", ("Nats-Expected-Last-Sequence", "2"))));
        Assert.Equal(10071, ErrCode(await SendAsync("x", "els2", "1", "body", "1", ("Nats-Expected-Last-Sequence", "9"))));
        Assert.Contains("\"count\":1", await SendAsync("x", "els3", "1", "body", "1", ("Nats-Expected-Last-Sequence", "1")));

        // Only the two single-message batches that committed are stored.
        Assert.Equal(2UL, await MessagesAsync());
    }

    [Fact]
    public async Task A_batch_idle_for_ten_seconds_is_abandoned_and_at_most_fifty_are_open()
    {
        await CreateAsync(atomic: true);
        await using var advisories = await Nats.SubscribeCoreAsync<string>($"$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.{_stream}");
        await Nats.PingAsync();
        Assert.Equal("", await SendAsync("x", "slow", "1", "one"));
        for (int b = 1; b < 50; b++)
            Assert.Equal("", await SendAsync("x", $"open{b}", "1", "x"));
        var tooMany = await SendAsync("x", "open50", "1", "x");
        Assert.Equal(10210, ErrCode(tooMany));
        Assert.Contains("\"code\":429", tooMany);
        // nats-server's inactivity timeout is 10 s: past it the batches are gone, and their slots free again.
        await Task.Delay(TimeSpan.FromSeconds(11));
        // Dropped by the timer, with an advisory for each, before anything else arrived.
        var timedOut = new HashSet<string>();
        for (int i = 0; i < 50; i++)
        {
            var advisory = await ReadAdvisoryAsync(advisories);
            Assert.Equal("timeout", (string?)advisory["reason"]);
            timedOut.Add((string)advisory["batch"]!);
        }
        Assert.Contains("slow", timedOut);
        Assert.Equal(50, timedOut.Count);
        Assert.Equal(10176, ErrCode(await SendAsync("x", "slow", "2", "two", "1")));
        Assert.Contains("\"count\":1", await SendAsync("x", "open50", "1", "x", "1"));
        Assert.Equal(1UL, await MessagesAsync());
    }

    [Fact]
    public async Task An_end_of_batch_commit_is_not_stored_and_the_last_message_carries_the_commit()
    {
        await CreateAsync(atomic: true);
        Assert.Equal("", await SendAsync("x", "e", "1", "one"));
        Assert.Equal("", await SendAsync("x", "e", "2", "two"));
        var ack = await SendAsync("x", "e", "3", "", "eob");
        Assert.Equal($"{{\"stream\":\"{_stream}\", \"seq\":2,\"batch\":\"e\",\"count\":2}}", ack);
        var stream = await Js.GetStreamAsync(_stream);
        Assert.Equal(2L, stream.Info.State.Messages);
        var last = await stream.GetAsync(new StreamMsgGetRequest { Seq = 2 });
        Assert.Equal("two", Encoding.UTF8.GetString(last.Message.Data.Span));
        Assert.Contains("Nats-Batch-Commit: 1", Encoding.UTF8.GetString(Convert.FromBase64String(last.Message.Hdrs!)));
        // An end-of-batch as the first message commits nothing.
        Assert.Equal(10176, ErrCode(await SendAsync("x", "e2", "1", "", "eob")));
    }

    [Fact]
    public async Task Allow_atomic_round_trips_and_is_refused_on_a_mirror()
    {
        var created = await CreateAsync(atomic: true);
        Assert.True((bool?)created["config"]!["allow_atomic"]);
        var info = await ApiAsync($"$JS.API.STREAM.INFO.{_stream}", "");
        Assert.True((bool?)info["config"]!["allow_atomic"], info.ToJsonString());

        // Turned off by an update: left out of the config, as nats-server's omitempty does, and batches are refused.
        var updated = await ApiAsync($"$JS.API.STREAM.UPDATE.{_stream}", $"{{\"name\":\"{_stream}\",\"subjects\":[\"{_stream}.>\"],\"storage\":\"file\"}}");
        Assert.Null(updated["error"]);
        Assert.False(updated["config"]!.AsObject().ContainsKey("allow_atomic"), updated.ToJsonString());
        Assert.Equal(10174, ErrCode(await SendAsync("x", "b", "1", "body", "1")));

        var mirror = await ApiAsync($"$JS.API.STREAM.CREATE.{_stream}M",
            $"{{\"name\":\"{_stream}M\",\"mirror\":{{\"name\":\"{_stream}\"}},\"allow_atomic\":true}}");
        Assert.Equal(10198, (int)mirror["error"]!["err_code"]!);
        Assert.Equal("stream mirrors can not also use atomic publishing", (string?)mirror["error"]!["description"]);

        // The silo's own refusals, where a batch could not be kept whole.
        var partitioned = await ApiAsync($"$JS.API.STREAM.CREATE.{_stream}P",
            $"{{\"name\":\"{_stream}P\",\"subjects\":[\"{_stream}p.>\"],\"partitions\":2,\"allow_atomic\":true}}");
        Assert.Equal(10052, (int)partitioned["error"]!["err_code"]!);
        Assert.Equal("partitioned streams can not use atomic batch publish", (string?)partitioned["error"]!["description"]);
        var republishing = await ApiAsync($"$JS.API.STREAM.CREATE.{_stream}R",
            $"{{\"name\":\"{_stream}R\",\"subjects\":[\"{_stream}r.>\"],\"republish\":{{\"src\":\">\",\"dest\":\"out.>\"}},\"allow_atomic\":true}}");
        Assert.Equal(10052, (int)republishing["error"]!["err_code"]!);
    }
}
