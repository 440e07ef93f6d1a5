using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// 2.12's distributed counters (ADR-49) through NATS.Net: stream allow_msg_counter and the Nats-Incr header. NATS.Net
/// 3.3.2 reads no "val" from a pub ack, so publishes go as requests and their acks are read as JSON. nats-server 2.9.10
/// has no counters, so these check nats-server 2.12's semantics and error codes.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class MessageCounterTests(ServersFixture servers) : SiloClientTests(servers)
{
    private readonly string _stream = "N" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

    private StreamConfig Counter() => new(_stream, [$"{_stream}.>"]) { AllowMsgCounter = true };

    private Task<JsonObject> IncrementAsync(string subject, string? incr, string body = "", params (string, string)[] more)
        => CounterPublish.SendAsync(Nats, $"{_stream}.{subject}", incr, body, more);

    private async Task<JsonObject> RequestAsync(string subject, string body)
    {
        var reply = await ApiScript.RequestAsync(Nats, subject, body, null, TimeSpan.FromSeconds(5));
        Assert.NotNull(reply);
        return JsonNode.Parse(reply!)!.AsObject();
    }

    [Fact]
    public async Task Increments_add_up_per_subject_and_the_ack_and_stored_body_carry_the_total()
    {
        var created = await Js.CreateStreamAsync(Counter());
        Assert.True(created.Info.Config.AllowMsgCounter);

        Assert.Equal("5", (string?)(await IncrementAsync("hits", "+5"))["val"]);
        Assert.Equal("-2", (string?)(await IncrementAsync("hits", "-7"))["val"]);
        Assert.Equal("1", (string?)(await IncrementAsync("other", "1"))["val"]);
        // Beyond 64 bits either way.
        var big = await IncrementAsync("hits", "123456789012345678901234567890");
        Assert.Equal("123456789012345678901234567888", (string?)big["val"]);
        Assert.Equal(4, (int)big["seq"]!);
        Assert.Equal(_stream, (string?)big["stream"]);
        Assert.Equal("-99999999999999999999999999999999", (string?)(await IncrementAsync("neg", "-99999999999999999999999999999999"))["val"]);

        var stream = await Js.GetStreamAsync(_stream);
        var last = await stream.GetAsync(new StreamMsgGetRequest { LastBySubj = $"{_stream}.hits" });
        Assert.Equal("{\"val\":\"123456789012345678901234567888\"}", Encoding.UTF8.GetString(last.Message.Data.Span));
        Assert.Contains("Nats-Incr: 123456789012345678901234567890", Encoding.UTF8.GetString(Convert.FromBase64String(last.Message.Hdrs!)));

        // A purge of the subject starts it over.
        await stream.PurgeAsync(new StreamPurgeRequest { Filter = $"{_stream}.hits" });
        Assert.Equal("3", (string?)(await IncrementAsync("hits", "3"))["val"]);
        Assert.Equal("2", (string?)(await IncrementAsync("other", "1"))["val"]);

        // A retried increment (same Nats-Msg-Id) counts once.
        Assert.Equal("12", (string?)(await IncrementAsync("hits", "9", "", ("Nats-Msg-Id", "retry")))["val"]);
        var retried = await IncrementAsync("hits", "9", "", ("Nats-Msg-Id", "retry"));
        Assert.True((bool?)retried["duplicate"]);
        Assert.Equal("13", (string?)(await IncrementAsync("hits", "1"))["val"]);

        // Acks of other streams carry no total.
        await Js.CreateStreamAsync(new StreamConfig(_stream + "P", [$"{_stream}p.>"]));
        var ack = await ApiScript.RequestAsync(Nats, $"{_stream}p.x", "body", null, TimeSpan.FromSeconds(5));
        Assert.DoesNotContain("val", ack);
    }

    [Fact]
    public async Task Counter_publishes_are_refused_as_nats_server_refuses_them()
    {
        await Js.CreateStreamAsync(new StreamConfig(_stream + "P", [$"{_stream}p.>"]));
        // On a stream without counters: disabled, but an increment that is no integer is invalid first.
        Assert.Equal(10168, ErrCode(await CounterPublish.SendAsync(Nats, $"{_stream}p.x", "1", "", [])));
        Assert.Equal(10171, ErrCode(await CounterPublish.SendAsync(Nats, $"{_stream}p.x", "one", "", [])));

        await Js.CreateStreamAsync(Counter());
        Assert.Equal(10169, ErrCode(await IncrementAsync("c", null, "not a counter")));
        Assert.Equal(10170, ErrCode(await IncrementAsync("c", "1", "a body")));
        foreach (var bad in new[] { "1.5", "+", "-", "1e3", "0x10", "1_000", "++1", "1 2" })
            Assert.True(ErrCode(await IncrementAsync("c", bad)) == 10171, $"Nats-Incr: {bad} was not refused");
        // Conditions on the stream's state mean nothing to a counter.
        Assert.Equal(10171, ErrCode(await IncrementAsync("c", "1", "", ("Nats-Expected-Last-Sequence", "0"))));
        Assert.Equal(10171, ErrCode(await IncrementAsync("c", "1", "", ("Nats-Expected-Last-Subject-Sequence", "0"))));
        Assert.Equal(10171, ErrCode(await IncrementAsync("c", "1", "", ("Nats-Expected-Stream", _stream))));
        Assert.Equal(10171, ErrCode(await IncrementAsync("c", "1", "", ("Nats-Rollup", "sub"))));
        // None of them counted or stored anything.
        Assert.Equal("0", (string?)(await IncrementAsync("c", "0"))["val"]);
        Assert.Equal(1L, (await Js.GetStreamAsync(_stream)).Info.State.Messages);
    }

    [Fact]
    public async Task Allow_msg_counter_is_refused_beside_what_a_counter_cannot_keep_and_never_changes()
    {
        async Task<string> RefusedAsync(string config)
        {
            var answer = await RequestAsync($"$JS.API.STREAM.CREATE.{_stream}", config);
            Assert.NotNull(answer["error"]);
            Assert.Null((await RequestAsync($"$JS.API.STREAM.INFO.{_stream}", ""))["config"]);
            return $"{(int)answer["error"]!["err_code"]!} {(string?)answer["error"]!["description"]}";
        }

        var subjects = $"\"subjects\":[\"{_stream}.>\"]";
        Assert.Equal("10052 counter stream cannot use discard new",
            await RefusedAsync($$"""{"name":"{{_stream}}",{{subjects}},"allow_msg_counter":true,"discard":"new"}"""));
        Assert.Equal("10052 counter stream cannot use message TTLs",
            await RefusedAsync($$"""{"name":"{{_stream}}",{{subjects}},"allow_msg_counter":true,"allow_msg_ttl":true}"""));
        Assert.Equal("10052 counter stream can only use limits retention",
            await RefusedAsync($$"""{"name":"{{_stream}}",{{subjects}},"allow_msg_counter":true,"retention":"workqueue"}"""));
        Assert.Equal("10173 stream mirrors can not also calculate counters",
            await RefusedAsync($$$"""{"name":"{{{_stream}}}","allow_msg_counter":true,"mirror":{"name":"ELSEWHERE"}}"""));

        // Fixed once made, either way.
        await Js.CreateStreamAsync(new StreamConfig(_stream, [$"{_stream}.>"]));
        var on = await Assert.ThrowsAsync<NatsJSApiException>(() => Js.UpdateStreamAsync(Counter()).AsTask());
        Assert.Equal("stream configuration update can not change message counter setting", on.Error.Description);
        await Js.DeleteStreamAsync(_stream);
        await Js.CreateStreamAsync(Counter());
        var off = await Assert.ThrowsAsync<NatsJSApiException>(() => Js.UpdateStreamAsync(new StreamConfig(_stream, [$"{_stream}.>"])).AsTask());
        Assert.Equal(10052, off.Error.ErrCode);
        // Anything else may change, and the same configuration again is the same stream.
        var updated = await Js.UpdateStreamAsync(Counter() with { MaxMsgsPerSubject = 1 });
        Assert.True(updated.Info.Config.AllowMsgCounter);
        Assert.Null((await RequestAsync($"$JS.API.STREAM.CREATE.{_stream}",
            $$"""{"name":"{{_stream}}",{{subjects}},"allow_msg_counter":true,"max_msgs_per_subject":1}"""))["error"]);
        Assert.Equal("2", (string?)(await IncrementAsync("k", "2"))["val"]);
        Assert.Equal("5", (string?)(await IncrementAsync("k", "3"))["val"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Republished_increments_carry_the_stored_total_as_nats_server_republishes_the_stored_message(bool headersOnly)
    {
        string destination = "rp" + _stream.ToLowerInvariant();
        await using var sub = await Nats.SubscribeCoreAsync<byte[]>($"{destination}.>");
        await Nats.PingAsync();
        await Js.CreateStreamAsync(Counter() with
        {
            Republish = new Republish { Src = ">", Dest = $"{destination}.>", HeadersOnly = headersOnly },
        });
        Assert.Equal("5", (string?)(await IncrementAsync("hits", "5"))["val"]);
        // Refused, so neither stored nor republished.
        Assert.Equal(10170, ErrCode(await IncrementAsync("hits", "1", "a body")));
        Assert.Equal("7", (string?)(await IncrementAsync("other", "7"))["val"]);
        Assert.Equal("-95", (string?)(await IncrementAsync("hits", "-100", "", ("K", "V")))["val"]);

        var got = new List<NatsMsg<byte[]>>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await foreach (var msg in sub.Msgs.ReadAllAsync(timeout.Token))
        {
            got.Add(msg);
            if (got.Count == 3)
                break;
        }
        Assert.Equal([$"{destination}.{_stream}.hits", $"{destination}.{_stream}.other", $"{destination}.{_stream}.hits"], got.Select(m => m.Subject));
        string[] totals = ["{\"val\":\"5\"}", "{\"val\":\"7\"}", "{\"val\":\"-95\"}"];
        if (headersOnly)
        {
            Assert.All(got, m => Assert.True(m.Data is null || m.Data.Length == 0));
            Assert.Equal(totals.Select(t => t.Length.ToString()), got.Select(m => m.Headers!["Nats-Msg-Size"].ToString()));
        }
        else
        {
            Assert.Equal(totals, got.Select(m => Encoding.UTF8.GetString(m.Data!)));
        }
        // The stored headers (the increment as published, and any other) with the usual republish ones.
        Assert.Equal(["5", "7", "-100"], got.Select(m => m.Headers!["Nats-Incr"].ToString()));
        Assert.Equal("V", got[2].Headers!["K"].ToString());
        Assert.All(got, m => Assert.Equal(_stream, m.Headers!["Nats-Stream"].ToString()));
        Assert.Equal([$"{_stream}.hits", $"{_stream}.other", $"{_stream}.hits"], got.Select(m => m.Headers!["Nats-Subject"].ToString()));
        Assert.Equal(["1", "2", "3"], got.Select(m => m.Headers!["Nats-Sequence"].ToString()));
        Assert.Equal(["0", "0", "1"], got.Select(m => m.Headers!["Nats-Last-Sequence"].ToString()));
    }

    [Fact]
    public async Task A_counter_stream_sourcing_counter_streams_adds_up_their_totals_and_moves_by_each_increment()
    {
        string a = _stream + "A", b = _stream + "B", agg = _stream;
        // A keeps only each subject's last message: the aggregate never sees a.hits's first increment, and counts it
        // all the same, from the difference of the totals.
        await Js.CreateStreamAsync(new StreamConfig(a, [$"{a}.>"]) { AllowMsgCounter = true, MaxMsgsPerSubject = 1 });
        await Js.CreateStreamAsync(new StreamConfig(b, [$"{b}.>"]) { AllowMsgCounter = true });
        Assert.Equal("5", (string?)(await CounterPublish.SendAsync(Nats, $"{a}.hits", "5", "", []))["val"]);
        Assert.Equal("8", (string?)(await CounterPublish.SendAsync(Nats, $"{a}.hits", "3", "", []))["val"]);
        Assert.Equal("10", (string?)(await CounterPublish.SendAsync(Nats, $"{b}.hits", "10", "", []))["val"]);
        Assert.Equal("1", (string?)(await CounterPublish.SendAsync(Nats, $"{b}.misses", "1", "", []))["val"]);

        // Both origins' subjects map onto the aggregate's; it counts its own increments too.
        await Js.CreateStreamAsync(new StreamConfig(agg, [$"{agg}.>"])
        {
            AllowMsgCounter = true,
            Sources =
            [
                new StreamSource { Name = a, SubjectTransforms = [new SubjectTransform { Src = $"{a}.>", Dest = $"{agg}.>" }] },
                new StreamSource { Name = b, SubjectTransforms = [new SubjectTransform { Src = $"{b}.>", Dest = $"{agg}.>" }] },
            ],
        });
        var aggregate = await Js.GetStreamAsync(agg);
        // Sources already holding totals bring them whole, keyed by origin stream and origin subject.
        var hits = await TotalAsync(aggregate, "hits", "18");
        Assert.Equal($$$"""{"{{{a}}}":{"{{{a}}}.hits":"8"},"{{{b}}}":{"{{{b}}}.hits":"10"}}""", Header(hits, "Nats-Counter-Sources"));
        await TotalAsync(aggregate, "misses", "1");

        // An increment on either origin moves the aggregate by that increment, which its Nats-Incr says.
        Assert.Equal("6", (string?)(await CounterPublish.SendAsync(Nats, $"{a}.hits", "-2", "", []))["val"]);
        hits = await TotalAsync(aggregate, "hits", "16");
        Assert.Equal("-2", Header(hits, "Nats-Incr"));
        Assert.Equal("17", (string?)(await CounterPublish.SendAsync(Nats, $"{b}.hits", "7", "", []))["val"]);
        hits = await TotalAsync(aggregate, "hits", "23");
        Assert.Equal("7", Header(hits, "Nats-Incr"));
        Assert.Equal($$$"""{"{{{a}}}":{"{{{a}}}.hits":"6"},"{{{b}}}":{"{{{b}}}.hits":"17"}}""", Header(hits, "Nats-Counter-Sources"));

        // A local increment adds to the aggregate and carries the totals seen from the sources on, so the next sourced
        // increment still counts only its difference.
        Assert.Equal("123", (string?)(await IncrementAsync("hits", "100"))["val"]);
        hits = await aggregate.GetAsync(new StreamMsgGetRequest { LastBySubj = $"{agg}.hits" });
        Assert.Equal("100", Header(hits, "Nats-Incr"));
        Assert.Equal($$$"""{"{{{a}}}":{"{{{a}}}.hits":"6"},"{{{b}}}":{"{{{b}}}.hits":"17"}}""", Header(hits, "Nats-Counter-Sources"));
        Assert.Equal("7", (string?)(await CounterPublish.SendAsync(Nats, $"{a}.hits", "1", "", []))["val"]);
        await TotalAsync(aggregate, "hits", "124");
        Assert.Equal("8", (string?)(await CounterPublish.SendAsync(Nats, $"{b}.misses", "7", "", []))["val"]);
        await TotalAsync(aggregate, "misses", "8");
    }

    /// <summary>Waits until the aggregate's last message on <paramref name="subject"/> holds <paramref name="total"/>.</summary>
    private async Task<StreamMsgGetResponse> TotalAsync(INatsJSStream stream, string subject, string total)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string body = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                var last = await stream.GetAsync(new StreamMsgGetRequest { LastBySubj = $"{_stream}.{subject}" });
                body = Encoding.UTF8.GetString(last.Message.Data.Span);
                if (body == $$"""{"val":"{{total}}"}""")
                    return last;
            }
            catch (NatsJSApiException ex) when (ex.Error.ErrCode == 10037)
            {
                // Not sourced yet.
            }
            await Task.Delay(50);
        }
        Assert.Fail($"{_stream}.{subject} holds {body}, not the total {total}");
        return null!;
    }

    /// <summary>A header of a stored message as MSG.GET returns it.</summary>
    private static string? Header(StreamMsgGetResponse message, string name)
    {
        foreach (var line in Encoding.UTF8.GetString(Convert.FromBase64String(message.Message.Hdrs!)).Split("\r\n"))
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
                return line[(name.Length + 1)..].Trim();
        return null;
    }

    private static int? ErrCode(JsonObject ack) => (int?)ack["error"]?["err_code"];
}

/// <summary>A counter's total is its subject's last stored message: it goes on after a kill -9 of the silo.</summary>
public sealed class MessageCounterRestartTests
{
    [Fact]
    public async Task Totals_go_on_after_a_killed_silo()
    {
        var silo = await SiloProcess.StartAsync();
        var dataDirectory = silo.DataDirectory;
        await using (var nats = new NatsConnection(new NatsOpts { Url = silo.Url }))
        {
            await nats.CreateJetStreamContext().CreateStreamAsync(new StreamConfig("CNT", ["cnt.>"]) { AllowMsgCounter = true });
            for (int i = 1; i <= 10; i++)
                Assert.Equal($"{i * (i + 1) / 2}", (string?)(await CounterPublish.SendAsync(nats, "cnt.a", $"{i}", "", []))["val"]);
            Assert.Equal("-1", (string?)(await CounterPublish.SendAsync(nats, "cnt.b", "-1", "", []))["val"]);
        }
        silo.Kill();
        await silo.DisposeAsync();

        await using var restarted = await SiloProcess.StartAsync(dataDirectory: dataDirectory);
        await using var client = new NatsConnection(new NatsOpts { Url = restarted.Url });
        Assert.Equal("56", (string?)(await CounterPublish.SendAsync(client, "cnt.a", "1", "", []))["val"]);
        Assert.Equal("-2", (string?)(await CounterPublish.SendAsync(client, "cnt.b", "-1", "", []))["val"]);
        var stream = await client.CreateJetStreamContext().GetStreamAsync("CNT");
        Assert.True(stream.Info.Config.AllowMsgCounter);
        // And the stream still refuses what is no increment.
        Assert.Equal(10169, (int?)(await CounterPublish.SendAsync(client, "cnt.a", null, "x", []))["error"]?["err_code"]);
    }
}

/// <summary>A publish with Nats-Incr sent as a request, its pub ack read as JSON.</summary>
internal static class CounterPublish
{
    public static async Task<JsonObject> SendAsync(NatsConnection nats, string subject, string? incr, string body, (string, string)[] more)
    {
        var headers = new List<(string, string)>(more);
        if (incr is not null)
            headers.Add(("Nats-Incr", incr));
        var reply = await ApiScript.RequestAsync(nats, subject, body, headers.Count == 0 ? null : [.. headers], TimeSpan.FromSeconds(5));
        Assert.NotNull(reply);
        return JsonNode.Parse(reply!)!.AsObject();
    }
}
