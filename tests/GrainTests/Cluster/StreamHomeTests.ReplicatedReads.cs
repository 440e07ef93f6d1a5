using Platform.Grains.Consumers;
using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests.Cluster;

/// <summary>
/// Readers of a replicated stream see a message only once its replicas hold it: a message on the primary alone may be
/// gone after a failover, its sequence taken by another, and a consumer handed it would skip that one.
/// </summary>
public sealed partial class StreamHomeTests
{
    [Fact]
    public async Task Reads_of_a_replicated_stream_stop_at_what_its_replicas_hold_and_go_on_once_they_hold_more()
    {
        var (config, _) = await CreateReplicatedAsync("W", primaryOnFirstSilo: true);
        var subject = SubjectIn(config);
        var stream = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        Assert.Null((await new FrameBatch().Add(subject, "m1").AppendTo(stream))[0].Error);
        Assert.Null((await stream.AddConsumer(new PlatformConsumerConfig { DurableName = "reader", AckPolicy = AckPolicy.Explicit }.WithDefaults())).Error);
        var consumer = Cluster.Client.GetGrain<IConsumerGrain>(ConsumerKey.Of(config.Name, "reader"));
        Assert.Equal([1UL], Delivered(await consumer.Fetch(10, 0, TimeSpan.Zero, AckOp.None)).Select(d => d.Seq));

        // One in-sync replica is slow: the primary stores the next message, and its ack waits for that replica.
        var slow = (await Catalog.Get(config.Name))!.Replicas!.InSync[0];
        _replicaAppends.Hold(slow);
        Task<PublishAck[]> append;
        try
        {
            append = new FrameBatch().Add(subject, "m2").AppendTo(stream);
            await _replicaAppends.Arrived.WaitAsync(TimeSpan.FromSeconds(30));

            var read = (await stream.Read(2, 10, 0, [])).Value;
            Assert.Equal((0, 2UL, 1UL), (read.Count, read.NextSequence, read.LastSequence));
            var filtered = (await stream.Read(1, 10, 0, [subject, "nothing.else"])).Value;
            Assert.Equal((1, 2UL), (filtered.Count, filtered.NextSequence));
            Assert.Equal(0UL, await stream.CountPending(2, []));
            var fetch = consumer.Fetch(10, 0, TimeSpan.FromSeconds(20), AckOp.None);
            var lastPerSubject = stream.LastPerSubject([subject]);
            var info = stream.GetInfo(false, null);
            var subjectsInfo = stream.GetInfo(false, subject);
            await Task.Delay(500);
            Assert.False(append.IsCompleted, "the append was acknowledged without its slow replica");
            Assert.False(fetch.IsCompleted, "a fetch returned while the new message was on the primary only");
            Assert.False(lastPerSubject.IsCompleted, "last per subject answered with a message on the primary only");
            Assert.False(info.IsCompleted, "stream info counted a message on the primary only");
            Assert.False(subjectsInfo.IsCompleted, "stream info with subjects counted a message on the primary only");

            _replicaAppends.Release();
            Assert.Equal(2UL, (await append)[0].Sequence);
            // Woken by the replicas' answer, not by the fetch's timeout.
            var woken = await Task.WhenAny(fetch, Task.Delay(TimeSpan.FromSeconds(10)));
            Assert.Same(fetch, woken);
            Assert.Equal([2UL], Delivered(await fetch).Select(d => d.Seq));
            Assert.Equal(new ulong[] { 2 }, await lastPerSubject);
            Assert.Equal((2UL, 2UL), ((await info).Value!.State.Messages, (await info).Value!.State.LastSequence));
            Assert.Equal(2UL, (await subjectsInfo).Value!.Subjects![subject]);
            Assert.Equal(1, (await stream.Read(2, 10, 0, [])).Value.Count);
        }
        finally
        {
            _replicaAppends.Release();
        }
    }

    [Fact]
    public async Task Deletes_purges_and_limits_of_a_replicated_stream_reach_its_replicas_and_stay_done_on_a_promoted_one()
    {
        var (config, primary) = await CreateReplicatedAsync("D", primaryOnFirstSilo: false, maxMsgs: 8);
        string a = config.Subjects[0].Replace(">", "a"), b = config.Subjects[0].Replace(">", "b");
        var stream = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        for (int i = 1; i <= 8; i++)
            Assert.Null((await new FrameBatch().Add(i % 2 == 1 ? a : b, $"m{i}").AppendTo(stream))[0].Error);
        Assert.True((await stream.DeleteMessage(3, noErase: true)).Value);
        Assert.Equal(4UL, (await stream.Purge(new PurgeRequest(b, 0, 0))).Value);
        // 1, 5 and 7 are left; six more make nine, and max_msgs 8 drops the oldest.
        for (int i = 9; i <= 14; i++)
            Assert.Null((await new FrameBatch().Add(a, $"m{i}").AppendTo(stream))[0].Error);
        ulong[] kept = [5, 7, 9, 10, 11, 12, 13, 14];
        Assert.Equal((8UL, 5UL), ((await stream.GetInfo(false, null)).Value!.State.Messages, (await stream.GetInfo(false, null)).Value!.State.FirstSequence));

        await Cluster.StopSiloAsync(primary);
        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.HomeOf(0) != primary.Name, "a replica is promoted");
        var state = (await stream.GetInfo(false, null)).Value!.State;
        Assert.Equal((8UL, 5UL, 14UL), (state.Messages, state.FirstSequence, state.LastSequence));
        for (ulong seq = 1; seq <= 14; seq++)
        {
            var message = await stream.GetMessage(new MessageQuery(seq, null, null));
            if (kept.Contains(seq))
                Assert.Equal($"m{seq}", System.Text.Encoding.UTF8.GetString(message.Value!.Payload));
            else
                Assert.Equal(ApiError.NoMessageFound, message.Error);
        }
    }

    /// <summary>
    /// Per-message TTLs on a replicated stream: what the primary's expiry removes, and the delete marker it places, reach
    /// the replicas, so a promoted replica neither brings an expired message back nor lacks the marker's sequence; it
    /// reads the TTLs of what it holds and expires them in turn.
    /// </summary>
    [Fact]
    public async Task Messages_expired_by_their_ttl_on_a_replicated_stream_stay_gone_on_a_promoted_replica()
    {
        // Markers live 1 s too (message TTLs below the marker's are raised to it, so the marker's is the shortest).
        var (config, primary) = await CreateReplicatedAsync("T", primaryOnFirstSilo: false, subjectDeleteMarkerTtl: 1_000_000_000);
        string a = config.Subjects[0].Replace(">", "a"), b = config.Subjects[0].Replace(">", "b"), c = config.Subjects[0].Replace(">", "c");
        var stream = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        Assert.Null((await new FrameBatch().Add(a, "a1", ("Nats-TTL", "1s")).AppendTo(stream))[0].Error);
        Assert.Null((await new FrameBatch().Add(a, "a2").AppendTo(stream))[0].Error);
        Assert.Null((await new FrameBatch().Add(b, "b1", ("Nats-TTL", "1s")).AppendTo(stream))[0].Error);
        // Still there when the replica is promoted, which has to read its TTL from what it holds.
        Assert.Null((await new FrameBatch().Add(a, "a3", ("Nats-TTL", "15s")).AppendTo(stream))[0].Error);
        // a1 expires and goes; b1, the last on its subject, is replaced by a MaxAge marker, sequence 5.
        await WaitUntilAsync(async () => (await stream.GetInfo(false, null)).Value!.State.LastSequence == 5
                && (await stream.GetMessage(new MessageQuery(1, null, null))).Error is not null
                && (await stream.GetMessage(new MessageQuery(3, null, null))).Error is not null,
            "the primary expires a1 and b1 and places b's marker");

        await Cluster.StopSiloAsync(primary);
        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.HomeOf(0) != primary.Name, "a replica is promoted");
        Assert.Equal(ApiError.NoMessageFound, (await stream.GetMessage(new MessageQuery(1, null, null))).Error);
        Assert.Equal(ApiError.NoMessageFound, (await stream.GetMessage(new MessageQuery(3, null, null))).Error);
        Assert.Equal("a2", System.Text.Encoding.UTF8.GetString((await stream.GetMessage(new MessageQuery(2, null, null))).Value!.Payload));
        Assert.Equal("a3", System.Text.Encoding.UTF8.GetString((await stream.GetMessage(new MessageQuery(4, null, null))).Value!.Payload));
        // The marker's sequence came with it: the next message is 6.
        Assert.Equal(5UL, (await stream.GetInfo(false, null)).Value!.State.LastSequence);

        // The promoted primary expires what it holds with a TTL and what it stores from now on.
        var c1 = (await new FrameBatch().Add(c, "c1", ("Nats-TTL", "1s")).AppendTo(stream))[0];
        Assert.Equal(6UL, c1.Sequence);
        await WaitUntilAsync(async () => (await stream.GetMessage(new MessageQuery(6, null, null))).Error is not null,
            "the promoted primary expires c1");
        await WaitUntilAsync(async () => (await stream.GetMessage(new MessageQuery(4, null, null))).Error is not null,
            "the promoted primary expires a3");
        Assert.Equal("a2", System.Text.Encoding.UTF8.GetString((await stream.GetMessage(new MessageQuery(2, null, null))).Value!.Payload));
    }

    [Fact]
    public async Task A_replica_that_was_down_during_a_delete_is_told_it_when_it_rejoins()
    {
        var (config, primary) = await CreateReplicatedAsync("J", primaryOnFirstSilo: false);
        var subject = SubjectIn(config);
        var stream = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        for (int i = 1; i <= 6; i++)
            Assert.Null((await new FrameBatch().Add(subject, $"m{i}").AppendTo(stream))[0].Error);
        var first = Cluster.Silos[0];
        var late = Cluster.Silos.Single(s => s != first && s != primary);

        await Cluster.StopSiloAsync(late);
        Assert.True((await stream.DeleteMessage(5, noErase: true)).Value);
        Assert.Equal(2UL, (await stream.Purge(new PurgeRequest(null, 3, 0))).Value);
        await Cluster.RestartSiloAsync(late);
        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.Replicas!.InSync.Contains(late.Name), "the late replica is back in sync");

        // Its last message is still the primary's: it is not reset, and is told the removals it missed.
        // The first silo's replica is slow (and stays so, kept from catching up) until the promotion: it leaves the
        // in-sync set, and only the late one can be promoted.
        _replicaAppends.Hold(first.Name);
        try
        {
            Assert.Null((await new FrameBatch().Add(subject, "m7").AppendTo(stream))[0].Error);
            Assert.Equal([late.Name], (await Catalog.Get(config.Name))!.Replicas!.InSync);
            await Cluster.StopSiloAsync(primary);
            await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.HomeOf(0) == late.Name, "the late replica is promoted");
        }
        finally
        {
            _replicaAppends.Release();
        }

        var state = (await stream.GetInfo(false, null)).Value!.State;
        Assert.Equal((4UL, 3UL, 7UL), (state.Messages, state.FirstSequence, state.LastSequence));
        Assert.Equal(ApiError.NoMessageFound, (await stream.GetMessage(new MessageQuery(5, null, null))).Error);
        Assert.Equal("m4", System.Text.Encoding.UTF8.GetString((await stream.GetMessage(new MessageQuery(4, null, null))).Value!.Payload));
    }

    [Fact]
    public async Task Counter_totals_on_a_replicated_stream_carry_over_to_a_promoted_replica()
    {
        var (config, primary) = await CreateReplicatedAsync("U", primaryOnFirstSilo: false, counter: true);
        string a = config.Subjects[0].Replace(">", "a"), b = config.Subjects[0].Replace(">", "b");
        var stream = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        Assert.Equal("5", (await new FrameBatch().Add(a, "", ("Nats-Incr", "5")).AppendTo(stream))[0].CounterTotal);
        // A batch of several increments, one of them refused (a body), and a subject that goes negative.
        var batch = await new FrameBatch().Add(a, "", ("Nats-Incr", "+10")).Add(b, "body", ("Nats-Incr", "1")).Add(b, "", ("Nats-Incr", "-3"))
            .Add(a, "", ("Nats-Incr", "100")).AppendTo(stream);
        Assert.Equal(["15", null, "-3", "115"], batch.Select(ack => ack.CounterTotal));

        await Cluster.StopSiloAsync(primary);
        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.HomeOf(0) != primary.Name, "a replica is promoted");
        // The replica holds what the primary stored, totals and not increments.
        Assert.Equal("{\"val\":\"115\"}", System.Text.Encoding.UTF8.GetString((await stream.GetMessage(new MessageQuery(0, a, null))).Value!.Payload));
        Assert.Equal("{\"val\":\"-3\"}", System.Text.Encoding.UTF8.GetString((await stream.GetMessage(new MessageQuery(3, null, null))).Value!.Payload));
        // The next increment continues the sum the old primary kept.
        var next = await new FrameBatch().Add(a, "", ("Nats-Incr", "1")).Add(b, "", ("Nats-Incr", "4")).AppendTo(stream);
        Assert.Equal(("116", 5UL), (next[0].CounterTotal, next[0].Sequence));
        Assert.Equal("1", next[1].CounterTotal);
    }
}
