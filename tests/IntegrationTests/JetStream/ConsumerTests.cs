using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>NATS.Net's JetStream consumers, KV and Object Store against the silo, over TCP.</summary>
[Collection(ServersCollection.Name)]
public sealed class ConsumerTests(ServersFixture servers) : SiloClientTests(servers)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly string _prefix = "C" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

    private async Task<string> StreamWith(string suffix, int messages)
    {
        var name = _prefix + suffix;
        await Js.CreateStreamAsync(new StreamConfig(name, [$"{name}.>"]));
        for (int i = 0; i < messages; i++)
            (await Js.PublishAsync($"{name}.m.{i % 3}", i)).EnsureSuccess();
        return name;
    }

    /// <summary>Account info counts the consumers of every stream, as nats-server does (it said 0 before).</summary>
    [Fact]
    public async Task Account_info_counts_consumers()
    {
        var stream = await StreamWith("ACC", 0);
        long before = (await Js.GetAccountInfoAsync()).Consumers;
        await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("one"));
        await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("two"));
        Assert.Equal(before + 2, (await Js.GetAccountInfoAsync()).Consumers);
        await Js.DeleteConsumerAsync(stream, "one");
        Assert.Equal(before + 1, (await Js.GetAccountInfoAsync()).Consumers);
        await Js.DeleteStreamAsync(stream);
        Assert.Equal(before, (await Js.GetAccountInfoAsync()).Consumers);
    }

    [Fact]
    public async Task Pull_fetch_with_explicit_acks()
    {
        var stream = await StreamWith("FETCH", 25);
        var consumer = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("worker") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        var got = new List<int>();
        using var cts = new CancellationTokenSource(Timeout);
        while (got.Count < 25)
        {
            await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 10, Expires = TimeSpan.FromSeconds(2) }, cancellationToken: cts.Token))
            {
                got.Add(msg.Data);
                await msg.AckAsync(cancellationToken: cts.Token);
            }
        }
        Assert.Equal(Enumerable.Range(0, 25), got);
        await consumer.RefreshAsync();
        Assert.Equal(0ul, consumer.Info.NumPending);
        Assert.Equal(25ul, consumer.Info.Delivered.StreamSeq);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (consumer.Info.NumAckPending > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            await consumer.RefreshAsync();
        }
        Assert.Equal(0, consumer.Info.NumAckPending);
        Assert.Equal(25ul, consumer.Info.AckFloor.StreamSeq);
    }

    [Fact]
    public async Task Consume_receives_new_messages_as_they_arrive()
    {
        var stream = await StreamWith("CONSUME", 5);
        var consumer = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("live") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        using var cts = new CancellationTokenSource(Timeout);
        var got = new List<int>();
        var consuming = Task.Run(async () =>
        {
            await foreach (var msg in consumer.ConsumeAsync<int>(opts: new NatsJSConsumeOpts { MaxMsgs = 50 }, cancellationToken: cts.Token))
            {
                got.Add(msg.Data);
                await msg.AckAsync(cancellationToken: cts.Token);
                if (got.Count == 15)
                    return;
            }
        });
        await Task.Delay(300);
        for (int i = 5; i < 15; i++)
            (await Js.PublishAsync($"{stream}.m.x", i)).EnsureSuccess();
        await consuming;
        Assert.Equal(Enumerable.Range(0, 15), got);
    }

    [Fact]
    public async Task Next_and_no_wait_fetch()
    {
        var stream = await StreamWith("NEXT", 2);
        var consumer = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("one") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        var first = await consumer.NextAsync<int>();
        Assert.Equal(0, first!.Data);
        await first.AckAsync();
        var rest = new List<int>();
        await foreach (var msg in consumer.FetchNoWaitAsync<int>(new NatsJSFetchOpts { MaxMsgs = 10 }))
            rest.Add(msg.Data);
        Assert.Equal(new[] { 1 }, rest);
    }

    [Fact]
    public async Task Unacked_message_is_redelivered_after_ack_wait_and_nak_and_term_work()
    {
        var stream = await StreamWith("REDELIVER", 3);
        var consumer = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("slow")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            AckWait = TimeSpan.FromMilliseconds(500),
        });
        using var cts = new CancellationTokenSource(Timeout);
        var deliveries = new List<(int Data, ulong Delivered)>();
        await foreach (var msg in consumer.ConsumeAsync<int>(opts: new NatsJSConsumeOpts { MaxMsgs = 10 }, cancellationToken: cts.Token))
        {
            deliveries.Add((msg.Data, msg.Metadata!.Value.NumDelivered));
            switch (msg.Data)
            {
                case 0 when msg.Metadata!.Value.NumDelivered == 1: break; // left unacked: comes back after ack_wait
                case 1 when msg.Metadata!.Value.NumDelivered == 1: await msg.NakAsync(cancellationToken: cts.Token); break;
                case 2: await msg.AckTerminateAsync(cancellationToken: cts.Token); break;
                default: await msg.AckAsync(cancellationToken: cts.Token); break;
            }
            if (deliveries.Count(d => d.Delivered == 2) == 2)
                break;
        }
        Assert.Contains((0, 2ul), deliveries);
        Assert.Contains((1, 2ul), deliveries);
        Assert.DoesNotContain((2, 2ul), deliveries);
    }

    [Fact]
    public async Task Max_ack_pending_blocks_until_acks_arrive()
    {
        var stream = await StreamWith("MAXPEND", 10);
        var consumer = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("limited")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            MaxAckPending = 3,
        });
        var held = new List<INatsJSMsg<int>>();
        await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 10, Expires = TimeSpan.FromSeconds(1) }))
            held.Add(msg);
        Assert.Equal(3, held.Count);
        foreach (var msg in held)
            await msg.AckAsync(new AckOpts { DoubleAck = true });
        var next = new List<int>();
        await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 10, Expires = TimeSpan.FromSeconds(1) }))
            next.Add(msg.Data);
        Assert.Equal(new[] { 3, 4, 5 }, next);
    }

    [Fact]
    public async Task Ordered_consumer_reads_everything_in_order()
    {
        var stream = await StreamWith("ORDERED", 40);
        var consumer = await Js.CreateOrderedConsumerAsync(stream);
        var got = new List<int>();
        using var cts = new CancellationTokenSource(Timeout);
        await foreach (var msg in consumer.ConsumeAsync<int>(cancellationToken: cts.Token))
        {
            got.Add(msg.Data);
            if (got.Count == 40)
                break;
        }
        Assert.Equal(Enumerable.Range(0, 40), got);
    }

    [Fact]
    public async Task Push_consumer_delivers_to_its_subject_and_queue_members_share()
    {
        var stream = await StreamWith("PUSH", 30);
        var deliver = _prefix + ".deliver";
        await using var a = await Nats.SubscribeCoreAsync<int>(deliver, queueGroup: "g");
        await using var b = await Nats.SubscribeCoreAsync<int>(deliver, queueGroup: "g");
        await Nats.PingAsync();
        await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("pusher")
        {
            DeliverSubject = deliver,
            DeliverGroup = "g",
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
        });
        var got = new List<int>();
        using var cts = new CancellationTokenSource(Timeout);
        while (got.Count < 30)
        {
            if (a.Msgs.TryRead(out var m1)) { got.Add(m1.Data); await m1.ReplyAsync("+ACK"u8.ToArray()); }
            else if (b.Msgs.TryRead(out var m2)) { got.Add(m2.Data); await m2.ReplyAsync("+ACK"u8.ToArray()); }
            else await Task.Delay(10, cts.Token);
        }
        Assert.Equal(Enumerable.Range(0, 30), got.Order());
    }

    [Fact]
    public async Task Push_consumer_updated_while_it_delivers_keeps_the_order()
    {
        const int count = 3000;
        var stream = _prefix + "PUSHUPD";
        await Js.CreateStreamAsync(new StreamConfig(stream, [$"{stream}.>"]));
        for (int i = 0; i < count; i++)
            await Nats.PublishAsync($"{stream}.m", i);
        await Nats.PingAsync();
        var deliver = "deliver." + stream;
        await using var sub = await Nats.SubscribeCoreAsync<int>(deliver,
            opts: new NatsSubOpts { ChannelOpts = new NatsSubChannelOpts { Capacity = count, FullMode = System.Threading.Channels.BoundedChannelFullMode.Wait } });
        var config = new ConsumerConfig("updated") { DeliverSubject = deliver, AckPolicy = ConsumerConfigAckPolicy.None };
        await Js.CreateOrUpdateConsumerAsync(stream, config);

        // Each update restarts the delivery loop; a new loop must not overtake the one it replaces.
        var updates = Task.Run(async () =>
        {
            for (int i = 0; i < 10; i++)
                await Js.CreateOrUpdateConsumerAsync(stream, config with { Description = "update " + i });
        });
        using var cts = new CancellationTokenSource(Timeout);
        var received = new List<int>();
        while (received.Count < count)
            received.Add((await sub.Msgs.ReadAsync(cts.Token)).Data);
        await updates;
        Assert.Equal(Enumerable.Range(0, count), received);
    }

    [Fact]
    public async Task Last_per_subject_consumer_skips_what_was_deleted_after_it_was_made()
    {
        var stream = _prefix + "LPSDEL";
        await Js.CreateStreamAsync(new StreamConfig(stream, [$"{stream}.>"]));
        foreach (var subject in (string[])["a", "b", "c", "d"])
            (await Js.PublishAsync($"{stream}.{subject}", subject)).EnsureSuccess();
        var consumer = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("lps")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            DeliverPolicy = ConsumerConfigDeliverPolicy.LastPerSubject,
        });
        // Its start list is 1-4; two of them go before the first fetch, the list's last one among them.
        await Js.DeleteMessageAsync(stream, new StreamMsgDeleteRequest { Seq = 2 });
        await Js.DeleteMessageAsync(stream, new StreamMsgDeleteRequest { Seq = 4 });
        (await Js.PublishAsync($"{stream}.e", "e")).EnsureSuccess();

        var got = new List<string>();
        using var cts = new CancellationTokenSource(Timeout);
        while (got.Count < 3 && !cts.IsCancellationRequested)
        {
            await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 10, Expires = TimeSpan.FromSeconds(1) }, cancellationToken: cts.Token))
            {
                got.Add(msg.Data!);
                await msg.AckAsync(cancellationToken: cts.Token);
            }
        }
        Assert.Equal(["a", "c", "e"], got);
        await consumer.RefreshAsync();
        Assert.Equal(0UL, consumer.Info.NumPending);
    }

    [Fact]
    public async Task Key_value_watch_keys_history_delete_purge()
    {
        var kv = Nats.CreateKeyValueStoreContext();
        var store = await kv.CreateStoreAsync(new NatsKVConfig(_prefix.ToLowerInvariant() + "kv") { History = 5 });
        await store.PutAsync("a", "1");
        await store.PutAsync("a", "2");
        await store.PutAsync("b", "x");
        var keys = new List<string>();
        await foreach (var key in store.GetKeysAsync())
            keys.Add(key);
        Assert.Equal(new[] { "a", "b" }, keys.Order());

        var history = new List<string?>();
        await foreach (var entry in store.HistoryAsync<string>("a"))
            history.Add(entry.Value);
        Assert.Equal(new[] { "1", "2" }, history);

        using var cts = new CancellationTokenSource(Timeout);
        var seen = new List<(string Key, string? Value, NatsKVOperation Op)>();
        var watching = Task.Run(async () =>
        {
            await foreach (var entry in store.WatchAsync<string>(cancellationToken: cts.Token))
            {
                seen.Add((entry.Key, entry.Value, entry.Operation));
                if (entry.Key == "c")
                    return;
            }
        });
        await Task.Delay(500);
        await store.DeleteAsync("b");
        await store.PutAsync("c", "new");
        await watching;
        Assert.Contains(("a", "2", NatsKVOperation.Put), seen);
        Assert.Contains(seen, e => e.Key == "b" && e.Op == NatsKVOperation.Del);
        Assert.Contains(("c", "new", NatsKVOperation.Put), seen);

        await store.PurgeAsync("a");
        await Assert.ThrowsAsync<NatsKVKeyDeletedException>(() => store.GetEntryAsync<string>("a").AsTask());
    }

    [Fact]
    public async Task Object_store_put_get_info_list_delete()
    {
        var obj = Nats.CreateObjectStoreContext();
        var store = await obj.CreateObjectStoreAsync(new NatsObjConfig(_prefix.ToLowerInvariant() + "obj"));
        var data = new byte[3 * 1024 * 1024 + 123];
        new Random(42).NextBytes(data);
        var info = await store.PutAsync("big.bin", data);
        Assert.Equal((ulong)data.Length, info.Size);
        Assert.StartsWith("SHA-256=", info.Digest);

        var back = await store.GetBytesAsync("big.bin");
        Assert.Equal(data, back);
        var described = await store.GetInfoAsync("big.bin");
        Assert.Equal(info.Digest, described.Digest);

        await store.PutAsync("small.txt", "hello"u8.ToArray());
        var names = new List<string>();
        await foreach (var item in store.ListAsync())
            names.Add(item.Name);
        Assert.Equal(new[] { "big.bin", "small.txt" }, names.Order());

        await store.DeleteAsync("big.bin");
        await Assert.ThrowsAsync<NatsObjNotFoundException>(() => store.GetInfoAsync("big.bin").AsTask());
    }

    [Fact]
    public async Task Advisories_for_nak_term_and_max_deliveries()
    {
        var stream = await StreamWith("ADV", 3);
        await using var advisories = await Nats.SubscribeCoreAsync<string>($"$JS.EVENT.ADVISORY.CONSUMER.*.{stream}.*");
        var consumer = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("adv")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            AckWait = TimeSpan.FromMilliseconds(300),
            MaxDeliver = 1,
        });
        await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 3, Expires = TimeSpan.FromSeconds(1) }))
        {
            if (msg.Data == 0) await msg.NakAsync();
            else if (msg.Data == 1) await msg.AckTerminateAsync();
        }
        // Message 2 was left unacked with max_deliver 1: the next fetch finds it exhausted.
        await Task.Delay(500);
        await foreach (var _ in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 1, Expires = TimeSpan.FromMilliseconds(1500) }))
        {
        }
        var kinds = new HashSet<string>();
        var deadline = DateTime.UtcNow + Timeout;
        while (kinds.Count < 3 && DateTime.UtcNow < deadline)
        {
            if (!advisories.Msgs.TryRead(out var advisory))
            {
                await Task.Delay(20);
                continue;
            }
            kinds.Add(advisory.Subject.Split('.')[4]);
            Assert.Contains($"\"stream\":\"{stream}\"", advisory.Data);
        }
        Assert.Equal(new[] { "MAX_DELIVERIES", "MSG_NAKED", "MSG_TERMINATED" }, kinds.Order());
    }

    [Fact]
    public async Task Stray_acks_are_ignored_and_a_vanished_client_s_messages_are_redelivered()
    {
        var stream = await StreamWith("STRAY", 4);
        var config = new ConsumerConfig("shared") { AckPolicy = ConsumerConfigAckPolicy.Explicit, AckWait = TimeSpan.FromMilliseconds(700) };
        await using (var leaving = new NatsConnection(new NatsOpts { Url = Servers.Silo.Url }))
        {
            var js = leaving.CreateJetStreamContext();
            var held = await js.CreateOrUpdateConsumerAsync(stream, config);
            int count = 0;
            await foreach (var _ in held.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 4, Expires = TimeSpan.FromSeconds(1) }))
                count++;
            Assert.Equal(4, count);
            // Acks for a consumer that does not exist and for sequences never delivered change nothing.
            await leaving.PublishAsync($"$JS.ACK.{stream}.nobody.1.1.1.0.0", "+ACK");
            await leaving.PublishAsync($"$JS.ACK.{stream}.shared.1.999.999.0.0", "+ACK");
            await leaving.PublishAsync("$JS.ACK.garbage", "+ACK");
            await leaving.PingAsync();
        }
        var consumer = await Js.GetConsumerAsync(stream, "shared");
        var again = new List<int>();
        using var cts = new CancellationTokenSource(Timeout);
        while (again.Count < 4)
        {
            await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 4, Expires = TimeSpan.FromSeconds(1) }, cancellationToken: cts.Token))
            {
                again.Add(msg.Data);
                Assert.Equal(2ul, msg.Metadata!.Value.NumDelivered);
                await msg.AckAsync(cancellationToken: cts.Token);
            }
        }
        Assert.Equal(new[] { 0, 1, 2, 3 }, again.Order());
    }

    [Fact]
    public async Task Ephemeral_consumer_goes_away_after_inactive_threshold()
    {
        var stream = await StreamWith("EPH", 1);
        var consumer = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            InactiveThreshold = TimeSpan.FromSeconds(1),
        });
        var name = consumer.Info.Name;
        Assert.False(string.IsNullOrEmpty(name));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        NatsJSApiException? gone = null;
        while (gone is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            try
            {
                await Js.GetConsumerAsync(stream, name);
            }
            catch (NatsJSApiException ex)
            {
                gone = ex;
            }
        }
        Assert.Equal(10014, gone?.Error.ErrCode);
    }

    [Fact]
    public async Task Several_filter_subjects_select_only_their_messages()
    {
        var stream = _prefix + "FILTERS";
        await Js.CreateStreamAsync(new StreamConfig(stream, [$"{stream}.>"]));
        foreach (var subject in new[] { "a", "b", "c", "a", "c", "b" })
            (await Js.PublishAsync($"{stream}.{subject}", subject)).EnsureSuccess();
        var consumer = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("ac")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            FilterSubjects = [$"{stream}.a", $"{stream}.c"],
        });
        Assert.Equal(4ul, consumer.Info.NumPending);
        var got = new List<string>();
        await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 10, Expires = TimeSpan.FromSeconds(1.5) }))
        {
            got.Add(msg.Data!);
            await msg.AckAsync();
        }
        Assert.Equal(new[] { "a", "c", "a", "c" }, got);
    }

    [Fact]
    public async Task Consumer_on_a_stream_of_a_million_messages_delivers_at_once()
    {
        var stream = _prefix + "MILLION";
        await Js.CreateStreamAsync(new StreamConfig(stream, [$"{stream}.>"]));
        // Plain publishes without replies: stored, not acked, so the fill is not a million round trips.
        const int total = 1_000_000;
        var payload = new byte[16];
        for (int i = 0; i < total; i++)
        {
            await Nats.PublishAsync($"{stream}.m", payload);
            if (i % 50_000 == 0)
                await Nats.PingAsync();
        }
        var deadline = DateTime.UtcNow.AddMinutes(3);
        long stored = 0;
        while (stored < total && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            stored = (await Js.GetStreamAsync(stream)).Info.State.Messages;
        }
        Assert.Equal(total, stored);
        var consumer = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("late") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        Assert.Equal((ulong)total, consumer.Info.NumPending);
        var first = new List<ulong>();
        await foreach (var msg in consumer.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 100, Expires = TimeSpan.FromSeconds(5) }))
            first.Add(msg.Metadata!.Value.Sequence.Stream);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (ulong)i), first);
        Assert.Equal((ulong)(total - 100), first.Count == 100 ? (await Js.GetConsumerAsync(stream, "late")).Info.NumPending : 0);
    }

    [Fact]
    public async Task Original_replay_keeps_the_gaps_between_messages()
    {
        var stream = _prefix + "REPLAY";
        await Js.CreateStreamAsync(new StreamConfig(stream, [$"{stream}.>"]));
        for (int i = 0; i < 3; i++)
        {
            (await Js.PublishAsync($"{stream}.x", i)).EnsureSuccess();
            await Task.Delay(400);
        }
        var instant = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("instant") { AckPolicy = ConsumerConfigAckPolicy.None });
        var original = await Js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig("original")
        {
            AckPolicy = ConsumerConfigAckPolicy.None,
            ReplayPolicy = ConsumerConfigReplayPolicy.Original,
        });
        async Task<TimeSpan> Span(INatsJSConsumer consumer)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            int n = 0;
            TimeSpan firstAt = default;
            await foreach (var _ in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 3, Expires = TimeSpan.FromSeconds(5) }))
            {
                if (n++ == 0) firstAt = watch.Elapsed;
                if (n == 3) return watch.Elapsed - firstAt;
            }
            throw new Xunit.Sdk.XunitException($"only {n} messages");
        }
        // Stored 400 ms apart: original replay spreads the three over about 800 ms; instant does not wait at all.
        Assert.True(await Span(original) >= TimeSpan.FromMilliseconds(700));
        Assert.True(await Span(instant) < TimeSpan.FromMilliseconds(700));
    }

    [Fact]
    public async Task Key_value_entries_expire_after_the_bucket_ttl()
    {
        var kv = Nats.CreateKeyValueStoreContext();
        var store = await kv.CreateStoreAsync(new NatsKVConfig(_prefix.ToLowerInvariant() + "ttl") { MaxAge = TimeSpan.FromSeconds(1) });
        await store.PutAsync("session", "alive");
        Assert.Equal("alive", (await store.GetEntryAsync<string>("session")).Value);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        NatsKVKeyNotFoundException? gone = null;
        while (gone is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            try
            {
                await store.GetEntryAsync<string>("session");
            }
            catch (NatsKVKeyNotFoundException ex)
            {
                gone = ex;
            }
        }
        Assert.NotNull(gone);
    }

    /// <summary>
    /// A Go worker writes its acks and its next pull request together; the request carries the acks to the consumer.
    /// They are applied even when the request is refused, and an AckSync among them is still answered.
    /// </summary>
    [Fact]
    public async Task Acks_written_with_the_next_pull_request_are_applied_and_answered()
    {
        var stream = await StreamWith("CARRY", 3);
        var consumer = await Js.CreateOrUpdateConsumerAsync(stream,
            new ConsumerConfig("carry") { AckPolicy = ConsumerConfigAckPolicy.Explicit, MaxBatch = 1 });
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync("127.0.0.1", Servers.Silo.Port);
        var wire = socket.GetStream();
        var lines = new StreamReader(wire, System.Text.Encoding.Latin1);
        await lines.ReadLineAsync();
        async Task WriteAsync(string text) => await wire.WriteAsync(System.Text.Encoding.Latin1.GetBytes(text));
        string Pull(string reply, int batch)
        {
            var body = $"{{\"batch\":{batch},\"expires\":2000000000}}";
            return $"PUB $JS.API.CONSUMER.MSG.NEXT.{stream}.carry {reply} {body.Length}\r\n{body}\r\n";
        }
        // The next MSG or HMSG: its subject (a message's own, or the request's reply for a status), reply and status code.
        async Task<(string Subject, string Reply, string Status)> NextAsync()
        {
            while (true)
            {
                var line = await lines.ReadLineAsync().WaitAsync(Timeout) ?? throw new EndOfStreamException();
                var parts = line.Split(' ');
                if (parts[0] is not ("MSG" or "HMSG"))
                    continue;
                var payload = new char[int.Parse(parts[^1]) + 2];
                await lines.ReadBlockAsync(payload);
                var text = new string(payload);
                var status = parts[0] == "HMSG" && text.StartsWith("NATS/1.0 ") ? text[9..12] : "";
                // MSG subject sid [reply] size; HMSG subject sid [reply] header-size size.
                bool hasReply = parts.Length == (parts[0] == "MSG" ? 5 : 6);
                return (parts[1], hasReply ? parts[3] : "", status);
            }
        }
        await WriteAsync("CONNECT {\"verbose\":false,\"headers\":true,\"protocol\":1}\r\nSUB _I.> 1\r\nSUB _A 2\r\n" + Pull("_I.1", 1));
        var first = await NextAsync();
        Assert.StartsWith("$JS.ACK.", first.Reply);

        // Refused (batch over max_batch), yet the ack it carried counts.
        await WriteAsync($"PUB {first.Reply} 0\r\n\r\n" + Pull("_I.2", 5));
        var refused = await NextAsync();
        Assert.Equal(("_I.2", "409"), (refused.Subject, refused.Status));
        await WaitForAsync(consumer, info => info.AckFloor.StreamSeq == 1 && info.NumAckPending == 0);

        // Served, with an AckSync for the message before it in the same write: both the answer and the message come.
        await WriteAsync(Pull("_I.3", 1));
        var second = await NextAsync();
        Assert.StartsWith("$JS.ACK.", second.Reply);
        await WriteAsync($"PUB {second.Reply} _A 4\r\n+ACK\r\n" + Pull("_I.4", 1));
        var answers = new[] { await NextAsync(), await NextAsync() };
        Assert.Contains(answers, a => a.Subject == "_A");
        Assert.Contains(answers, a => a.Subject == $"{stream}.m.2" && a.Reply.StartsWith("$JS.ACK."));
        await WaitForAsync(consumer, info => info.AckFloor.StreamSeq == 2 && info.NumAckPending == 1);
    }

    private static async Task WaitForAsync(INatsJSConsumer consumer, Func<ConsumerInfo, bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            await consumer.RefreshAsync();
            if (condition(consumer.Info))
                return;
            Assert.True(DateTime.UtcNow < deadline, $"consumer state: ack floor {consumer.Info.AckFloor.StreamSeq}, ack pending {consumer.Info.NumAckPending}");
            await Task.Delay(20);
        }
    }
}
