using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Cluster;

public sealed partial class ClusterStreamTests
{
    private static readonly TimeSpan ApiTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// nats-server's stream move ($JS.API.ACCOUNT.STREAM.MOVE.$G.&lt;stream&gt; {"server": home}) carries the stream to
    /// another node: every sequence reads back the same through every silo (subject, headers, payload, timestamp,
    /// deleted gaps), the consumer keeps its state, no publish acked during the move is lost, and the old home can be
    /// killed without taking the stream offline. Refusals answer as nats-server does.
    /// </summary>
    [SkippableFact]
    public async Task Streams_move_to_another_node_with_their_data()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        const string cluster = "moves";
        await using var nodes = await Nodes.StartAsync(Postgres, cluster);
        var (silos, clients, js) = (nodes.Silos, nodes.Clients, nodes.Js);
        var created = await js[0].CreateStreamAsync(new StreamConfig("MV", ["mv.>"]) { DuplicateWindow = TimeSpan.FromMinutes(5) });
        var oldHome = created.Info.Cluster!.Leader!;
        int old = oldHome[0] - 'a';

        // Fill it: subjects, headers, msg ids; a few deleted messages leave gaps.
        for (int i = 1; i <= 300; i++)
        {
            var headers = new NatsHeaders { ["X-Index"] = i.ToString() };
            var ack = await js[i % 3].PublishAsync($"mv.{(char)('a' + i % 4)}", $"payload {i}", headers: headers,
                opts: new NatsJSPubOpts { MsgId = $"id-{i}" });
            Assert.Null(ack.Error);
            Assert.Equal((ulong)i, ack.Seq);
        }
        var stream = await js[0].GetStreamAsync("MV");
        foreach (var gap in new ulong[] { 1, 7, 150, 151, 299 })
            Assert.True((await stream.DeleteMessageAsync(new StreamMsgDeleteRequest { Seq = gap })).Success);
        // A durable consumer with delivered and acked messages.
        var consumer = await js[1].CreateOrUpdateConsumerAsync("MV", new ConsumerConfig("reader") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        int acked = 0;
        await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 50, Expires = TimeSpan.FromSeconds(5) }))
        {
            if (acked++ < 30)
                await msg.AckAsync(new AckOpts { DoubleAck = true });
        }
        var before = (await js[0].GetConsumerAsync("MV", "reader")).Info;
        // A push consumer, listened to on a silo that is not the home.
        await using var pushed = await clients[(old + 1) % 3].SubscribeCoreAsync<string>("deliver.mv");
        await js[0].CreateOrUpdateConsumerAsync("MV", new ConsumerConfig("pusher")
        {
            DeliverSubject = "deliver.mv",
            DeliverPolicy = ConsumerConfigDeliverPolicy.New,
            FilterSubject = "mv.z",
            AckPolicy = ConsumerConfigAckPolicy.None,
        });
        var messages = await ReadAllAsync(clients[0], 300);

        // Refusals, as nats-server answers them.
        Assert.Equal(10035, await MoveErrorAsync(clients[0], "$JS.API.ACCOUNT.STREAM.MOVE.OTHER.MV", oldHome));
        Assert.Equal(10059, await MoveErrorAsync(clients[0], "$JS.API.ACCOUNT.STREAM.MOVE.$G.NOPE", oldHome));
        Assert.Equal(10044, await MoveErrorAsync(clients[0], "$JS.API.ACCOUNT.STREAM.MOVE.$G.MV", "zz"));
        Assert.Equal(10040, await MoveErrorAsync(clients[0], "$JS.API.ACCOUNT.STREAM.MOVE.$G.MV", NodeOf(silos, silos[(old + 1) % 3])));
        Assert.Equal(10129, await MoveErrorAsync(clients[0], "$JS.API.ACCOUNT.STREAM.CANCEL_MOVE.$G.MV", oldHome));

        // Move it while publishers keep publishing through every silo.
        using var stop = new CancellationTokenSource();
        var publishers = Enumerable.Range(0, 3).Select(i => PublishUntilAsync(js[i], $"during-{i}", stop.Token)).ToArray();
        await Task.Delay(300);
        var reply = await ApiScript.RequestAsync(clients[(old + 2) % 3], "$JS.API.ACCOUNT.STREAM.MOVE.$G.MV", $"{{\"server\":\"{oldHome}\"}}", null, ApiTimeout);
        await Task.Delay(300);
        await stop.CancelAsync();
        var during = (await Task.WhenAll(publishers)).SelectMany(p => p).ToList();
        output.WriteLine($"move: {reply}");
        using var moved = JsonDocument.Parse(reply!);
        Assert.False(moved.RootElement.TryGetProperty("error", out _), reply);
        Assert.Equal("io.nats.jetstream.api.v1.stream_update_response", moved.RootElement.GetProperty("type").GetString());
        var newHome = moved.RootElement.GetProperty("cluster").GetProperty("leader").GetString()!;
        Assert.NotEqual(oldHome, newHome);
        Assert.True(Directory.Exists(StreamDirectory(silos[newHome[0] - 'a'], "MV")));
        Assert.False(Directory.Exists(StreamDirectory(silos[old], "MV")), "the old copy was not removed");
        output.WriteLine($"moved from {oldHome} to {newHome}; {during.Count} publishes acked during the move");

        // Every sequence as it was, through every silo; every publish acked during the move is there.
        for (int i = 0; i < 3; i++)
        {
            var after = await ReadAllAsync(clients[i], 300);
            for (int seq = 1; seq <= 300; seq++)
                Assert.Equal(messages[seq], after[seq]);
        }
        var check = await js[(old + 1) % 3].GetStreamAsync("MV");
        foreach (var (seq, payload) in during)
        {
            var msg = await check.GetAsync(new StreamMsgGetRequest { Seq = seq });
            Assert.Equal(payload, System.Text.Encoding.UTF8.GetString(msg.Message.Data.Span));
        }
        Assert.Equal(295L + during.Count, check.Info.State.Messages);
        // A msg id from before the move is still a duplicate.
        var duplicate = await js[0].PublishAsync("mv.a", "again", opts: new NatsJSPubOpts { MsgId = "id-5" });
        Assert.True(duplicate.Duplicate);
        Assert.Equal(5UL, duplicate.Seq);
        var afterInfo = (await js[2].GetConsumerAsync("MV", "reader")).Info;
        Assert.Equal(before.Delivered.StreamSeq, afterInfo.Delivered.StreamSeq);
        Assert.Equal(before.AckFloor.StreamSeq, afterInfo.AckFloor.StreamSeq);
        Assert.Equal(before.NumAckPending, afterInfo.NumAckPending);

        // Publishes go on from the old home's silo, and the old home can go.
        ulong last = check.Info.State.LastSeq;
        Assert.Equal(last + 1, (await js[old].PublishAsync("mv.z", "after")).Seq);
        // The push consumer delivers from the new home.
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
            Assert.Equal("after", (await pushed.Msgs.ReadAsync(timeout.Token)).Data);
        // Two new streams: the emptiest nodes take them, so one lives on the old home.
        var offline = new List<string>();
        foreach (var name in new[] { "OFF1", "OFF2" })
            if ((await js[0].CreateStreamAsync(new StreamConfig(name, [$"{name.ToLowerInvariant()}.>"]))).Info.Cluster!.Leader == oldHome)
                offline.Add(name);
        Assert.Single(offline);
        var victim = silos[old];
        victim.Kill();
        foreach (var survivor in silos.Where(s => s != victim))
            await ProcessCluster.WaitUntilAsync(async () => await ConnectUrlCountAsync(survivor) == 2, TimeSpan.FromSeconds(30),
                async () => $"{NodeOf(silos, survivor)} still advertises {await ConnectUrlCountAsync(survivor)} silos");
        var survivorJs = js[(old + 1) % 3];
        // Sent again (with a msg id) if no answer came: right after the kill, a silo's first call to the new home may
        // wait on a directory lookup that the dead silo owned until Orleans declares it dead (a loaded CI run, once).
        Assert.Equal(last + 2, await PublishRetryingAsync(survivorJs, "mv.z", "old home gone"));
        Assert.Equal(messages[300], (await ReadAllAsync(clients[(old + 2) % 3], 300))[300]);
        // The old home is offline: what it holds cannot be moved.
        Assert.Equal(10118, await MoveErrorAsync(clients[(old + 1) % 3], $"$JS.API.ACCOUNT.STREAM.MOVE.$G.{offline[0]}", oldHome));
    }

    /// <summary>STREAM.MSG.GET's reply for every sequence up to <paramref name="last"/>, as the silo answers it.</summary>
    private static async Task<Dictionary<int, string>> ReadAllAsync(NatsConnection client, int last)
    {
        var replies = new Dictionary<int, string>();
        for (int seq = 1; seq <= last; seq++)
            replies[seq] = (await ApiScript.RequestAsync(client, "$JS.API.STREAM.MSG.GET.MV", $"{{\"seq\":{seq}}}", null, ApiTimeout))!;
        return replies;
    }

    private static async Task<int> MoveErrorAsync(NatsConnection client, string subject, string server)
    {
        var reply = await ApiScript.RequestAsync(client, subject, $"{{\"server\":\"{server}\"}}", null, ApiTimeout);
        using var json = JsonDocument.Parse(reply!);
        return json.RootElement.GetProperty("error").GetProperty("err_code").GetInt32();
    }

    /// <summary>Publishes until stopped; returns what was acked (sequence, payload). Error acks are fine, lost acks are not.</summary>
    private static async Task<List<(ulong Seq, string Payload)>> PublishUntilAsync(NatsJSContext js, string prefix, CancellationToken stop)
    {
        var acked = new List<(ulong, string)>();
        for (int i = 0; !stop.IsCancellationRequested; i++)
        {
            var payload = $"{prefix}-{i}";
            try
            {
                var ack = await js.PublishAsync("mv.during", payload);
                if (ack.Error is null)
                    acked.Add((ack.Seq, payload));
            }
            catch (NatsJSPublishNoResponseException)
            {
            }
        }
        return acked;
    }
}
