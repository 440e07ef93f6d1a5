using System.Diagnostics;
using Orleans.TestingHost;
using Platform.Grains.Cluster;
using Platform.Grains.Replication;
using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests.Cluster;

/// <summary>
/// Replicated streams on the same three silos: a copy on each replica node, acks only with every in-sync replica
/// and a quorum, a failed replica leaving the in-sync set at a new epoch, and an in-sync replica promoted when the
/// primary's node dies, with every acknowledged message.
/// </summary>
public sealed partial class StreamHomeTests
{
    [Fact]
    public async Task Replicas_are_accepted_up_to_five_and_only_with_enough_active_nodes()
    {
        var tooMany = await Catalog.Create(new PlatformStreamConfig { Name = "R6", Subjects = ["r6.>"], NumReplicas = 6 }.WithDefaults());
        Assert.Equal((10052, "maximum replicas is 5"), (tooMany.Error?.ErrCode, tooMany.Error?.Description));
        var notEnough = await Catalog.Create(new PlatformStreamConfig { Name = "R4", Subjects = ["r4.>"], NumReplicas = 4 }.WithDefaults());
        Assert.Equal(ApiError.InsufficientResources, notEnough.Error);
        Assert.Null(await Catalog.Get("R4"));
        foreach (var silo in Cluster.Silos)
            Assert.False(Directory.Exists(StoreOf(silo).StreamDirectory("R4")));
    }

    [Fact]
    public async Task A_replicated_stream_has_a_copy_on_each_replica_node_reports_them_current_and_goes_with_every_copy()
    {
        var config = new PlatformStreamConfig { Name = "R3", Subjects = ["r3.>"], NumReplicas = 3 }.WithDefaults();
        Assert.Null((await Catalog.Create(config)).Error);
        var entry = (await Catalog.Get("R3"))!;
        var set = entry.Replicas!;
        Assert.Equal(3, set.Nodes.Append(entry.HomeOf(0)).Distinct().Count());
        Assert.Equal(set.Nodes, set.InSync);

        var grain = Cluster.Client.GetGrain<IStreamGrain>("R3");
        for (int i = 0; i < 10; i++)
            Assert.Equal((ulong)i * 2 + 2, (await new FrameBatch().Add("r3.a", $"m{i}").Add("r3.b", $"n{i}").AppendTo(grain))[1].Sequence);

        var info = (await grain.GetInfo(false, null)).Value!;
        Assert.Equal(set.Nodes.Order(), info.Replicas!.Select(r => r.Name).Order());
        Assert.All(info.Replicas!, r => Assert.True(r.Current && r.Lag == 0, $"{r.Name} current {r.Current} lag {r.Lag}"));
        foreach (var silo in Cluster.Silos)
            Assert.True(Directory.Exists(StoreOf(silo).PartitionDirectory("R3", 0)), $"no copy on {silo.Name}");

        Assert.True(await Catalog.Delete("R3"));
        foreach (var silo in Cluster.Silos)
            Assert.False(Directory.Exists(StoreOf(silo).StreamDirectory("R3")), $"a copy is left on {silo.Name}");
    }

    /// <summary>
    /// Orleans deactivates an activation whose directory entry was on a silo that died. A replicated stream's primary
    /// works uncalled (it catches up its replicas), so it comes back by itself: before, a quiet stream's primary stayed
    /// away until the next call, and a replica that came back behind was never caught up (the process cluster's
    /// damaged replica test, wipe case, about one run in five).
    /// </summary>
    [Fact]
    public async Task A_primary_deactivated_for_a_lost_directory_entry_comes_back_without_a_call()
    {
        var (config, _) = await CreateReplicatedAsync("DL", primaryOnFirstSilo: true);
        var grain = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        Assert.Null((await new FrameBatch().Add(SubjectIn(config), "before").AppendTo(grain))[0].Error);

        _directoryLoss.Arm(config.Name);
        await grain.GetInfo(false, null);
        await _directoryLoss.CameBack.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(1UL, (await grain.GetInfo(false, null)).Value!.State.Messages);
    }

    [Fact]
    public async Task With_both_replicas_down_writes_fail_and_the_in_sync_set_keeps_a_quorum()
    {
        var (config, _) = await CreateReplicatedAsync("Q", primaryOnFirstSilo: true);
        var grain = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        Assert.Null((await new FrameBatch().Add(SubjectIn(config), "acked").AppendTo(grain))[0].Error);
        var set = (await Catalog.Get(config.Name))!.Replicas!;

        foreach (var replica in set.Nodes)
            await Cluster.StopSiloAsync(Cluster.Silos.Single(s => s.Name == replica));

        var acks = await new FrameBatch().Add(SubjectIn(config), "refused").AppendTo(grain);
        Assert.NotNull(acks[0].Error);
        Assert.Equal(0UL, acks[0].Sequence);
        // One replica may leave the in-sync set (the primary and the other are still a quorum), never both.
        Assert.NotEmpty((await Catalog.Get(config.Name))!.Replicas!.InSync);
    }

    [Fact]
    public async Task A_replica_that_goes_down_leaves_the_in_sync_set_and_catches_up_when_it_returns()
    {
        var (config, _) = await CreateReplicatedAsync("L", primaryOnFirstSilo: true);
        var grain = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        Assert.Null((await new FrameBatch().Add(SubjectIn(config), "before").AppendTo(grain))[0].Error);
        var set = (await Catalog.Get(config.Name))!.Replicas!;
        var down = Cluster.Silos.Single(s => s.Name == set.Nodes[0]);

        await Cluster.StopSiloAsync(down);
        for (int i = 0; i < 5; i++)
            Assert.Null((await new FrameBatch().Add(SubjectIn(config), $"without{i}").AppendTo(grain))[0].Error);
        var smaller = (await Catalog.Get(config.Name))!.Replicas!;
        Assert.Equal(set.Epoch + 1, smaller.Epoch);
        Assert.Equal([set.Nodes[1]], smaller.InSync);

        await Cluster.RestartSiloAsync(down);
        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.Replicas!.InSync.Length == 2, "the returned replica is back in sync");
        // The primary reports a replica current once a replication round has heard from it since the set changed.
        await WaitUntilAsync(async () => (await grain.GetInfo(false, null)).Value!.Replicas!.All(r => r.Current && r.Lag == 0),
            "the primary reports both replicas current with no lag");
        Assert.Equal(set.Epoch + 2, (await Catalog.Get(config.Name))!.Replicas!.Epoch);
    }

    [Fact]
    public async Task When_the_primary_node_dies_an_in_sync_replica_takes_over_with_every_acked_message()
    {
        var (config, primary) = await CreateReplicatedAsync("F", primaryOnFirstSilo: false);
        var grain = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        var acked = new Dictionary<ulong, string>();
        for (int i = 0; i < 20; i++)
        {
            var ack = (await new FrameBatch().Add(SubjectIn(config), $"m{i}", ("Nats-Msg-Id", $"id{i}")).AppendTo(grain))[0];
            Assert.Null(ack.Error);
            acked[ack.Sequence] = $"m{i}";
        }
        var before = (await Catalog.Get(config.Name))!;

        await Cluster.StopSiloAsync(primary);
        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.HomeOf(0) != primary.Name, "a replica is promoted");
        var after = (await Catalog.Get(config.Name))!;
        Assert.Equal(before.Replicas!.Epoch + 1, after.Replicas!.Epoch);
        Assert.Contains(after.HomeOf(0), before.Replicas.InSync);
        Assert.Contains(primary.Name, after.Replicas.Nodes);
        Assert.DoesNotContain(primary.Name, after.Replicas.InSync);
        // The new primary finds its in-sync replica current before anything is published.
        await WaitUntilAsync(async () => (await grain.GetInfo(false, null)).Value!.Replicas!.Any(r => r.Current), "the in-sync replica is reported current");

        foreach (var (seq, payload) in acked)
        {
            var message = (await grain.GetMessage(new MessageQuery(seq, null, null))).Value!;
            Assert.Equal(payload, System.Text.Encoding.UTF8.GetString(message.Payload));
        }
        // A retried publish is a duplicate on the new primary too, and new ones go on from the last sequence.
        var retried = (await new FrameBatch().Add(SubjectIn(config), "m19", ("Nats-Msg-Id", "id19")).AppendTo(grain))[0];
        Assert.True(retried.Duplicate);
        Assert.Equal(20UL, retried.Sequence);
        Assert.Equal(21UL, (await new FrameBatch().Add(SubjectIn(config), "new").AppendTo(grain))[0].Sequence);

        // The old primary returns as a replica and catches up.
        await Cluster.RestartSiloAsync(primary);
        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.Replicas!.InSync.Contains(primary.Name), "the old primary is back in sync");
    }

    /// <summary>
    /// A node that is down while a replicated stream is deleted keeps its copy, with the epoch that copy took. A stream
    /// created again under the name puts a copy there: its epochs start above any the catalog gave before, so that copy
    /// takes the new primary's batches (its old log is checked and reset) instead of refusing them and fencing it.
    /// </summary>
    [Fact]
    public async Task A_stream_created_again_over_a_copy_left_on_a_node_that_was_down_takes_publishes()
    {
        var (config, primary) = await CreateReplicatedAsync("RC", primaryOnFirstSilo: true);
        var grain = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        Assert.Null((await new FrameBatch().Add(SubjectIn(config), "old").AppendTo(grain))[0].Error);
        var set = (await Catalog.Get(config.Name))!.Replicas!;
        var kept = Cluster.Silos.Single(s => s.Name == set.Nodes[0]);
        // The epochs the copy took in the stream's life (a replica that leaves and returns moves it on twice).
        Assert.True((await Cluster.Client.GetGrain<IReplicaGrain>(ReplicaKey.Of(config.Name, kept.Name)).Fence(set.Epoch + 2)).Accepted);

        await Cluster.StopSiloAsync(kept);
        Assert.True(await Catalog.Delete(config.Name));
        await Cluster.RestartSiloAsync(kept);
        Assert.True(Directory.Exists(StoreOf(Cluster.Silos.Single(s => s.Name == kept.Name)).PartitionDirectory(config.Name, 0)), "the copy was not kept");

        Assert.Null((await Catalog.Create(config)).Error);
        var again = (await Catalog.Get(config.Name))!;
        Assert.Equal(primary.Name, again.HomeOf(0));
        Assert.Contains(kept.Name, again.Replicas!.Nodes);
        for (int i = 1; i <= 3; i++)
        {
            var ack = (await new FrameBatch().Add(SubjectIn(config), $"new{i}").AppendTo(grain))[0];
            Assert.Null(ack.Error);
            Assert.Equal((ulong)i, ack.Sequence);
        }
        await WaitUntilAsync(async () => (await grain.GetInfo(false, null)).Value!.Replicas!.All(r => r.Current && r.Lag == 0), "both copies current");
    }

    /// <summary>
    /// The same when the node that kept a copy (a primary that died, replaced by a promoted replica before the stream
    /// was deleted) becomes the new stream's home: its copy is put aside, never opened as the new stream's data.
    /// </summary>
    [Fact]
    public async Task A_stream_created_again_on_a_node_that_kept_an_old_copy_starts_empty()
    {
        var (config, primary) = await CreateReplicatedAsync("RO", primaryOnFirstSilo: true);
        var grain = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        for (int i = 0; i < 3; i++)
            Assert.Null((await new FrameBatch().Add(SubjectIn(config), $"old{i}").AppendTo(grain))[0].Error);
        await Cluster.StopSiloAsync(primary);
        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.HomeOf(0) != primary.Name, "a replica is promoted");
        Assert.True(await Catalog.Delete(config.Name));
        await Cluster.RestartSiloAsync(primary);
        var store = StoreOf(Cluster.Silos.Single(s => s.Name == primary.Name));
        Assert.True(Directory.Exists(store.PartitionDirectory(config.Name, 0)), "the old primary's copy was not kept");

        Assert.Null((await Catalog.Create(config)).Error);
        Assert.Equal(primary.Name, (await Catalog.Get(config.Name))!.HomeOf(0));
        var info = (await grain.GetInfo(false, null)).Value!;
        Assert.Equal((0UL, 0UL), (info.State.Messages, info.State.LastSequence));
        Assert.Equal(1UL, (await new FrameBatch().Add(SubjectIn(config), "new").AppendTo(grain))[0].Sequence);
        Assert.Single(Directory.GetDirectories(store.Root + ".orphaned", config.Name + "-*"));
    }

    [Fact]
    public async Task A_replica_refuses_batches_of_an_older_epoch()
    {
        var (config, _) = await CreateReplicatedAsync("E", primaryOnFirstSilo: true);
        var set = (await Catalog.Get(config.Name))!.Replicas!;
        var replica = Cluster.Client.GetGrain<IReplicaGrain>(ReplicaKey.Of(config.Name, set.Nodes[0]));
        Assert.True((await replica.Fence(set.Epoch + 1)).Accepted);

        var stale = await replica.Append(new ReplicaBatch(set.Epoch, 0, 1, 1, [], 0, 0, [], []));
        Assert.False(stale.Accepted);
        Assert.Equal(set.Epoch + 1, stale.Epoch);
        // Its primary, still at the old epoch, learns it from the refusal and acknowledges nothing.
        var acks = await new FrameBatch().Add(SubjectIn(config), "stale").AppendTo(Cluster.Client.GetGrain<IStreamGrain>(config.Name));
        Assert.NotNull(acks[0].Error);
    }

    /// <summary>
    /// Orleans may deliver a primary's pipelined batches out of order (it sends calls between two silos over either of
    /// their connections): a batch that comes before the one it follows waits for it instead of being refused.
    /// </summary>
    [Fact]
    public async Task A_replica_takes_a_batch_that_overtook_the_one_before_it()
    {
        var (config, _) = await CreateReplicatedAsync("O", primaryOnFirstSilo: true);
        var set = (await Catalog.Get(config.Name))!.Replicas!;
        var replica = Cluster.Client.GetGrain<IReplicaGrain>(ReplicaKey.Of(config.Name, set.Nodes[0]));
        var subject = SubjectIn(config);

        var second = replica.Append(new FrameBatch().Add(subject, "m2").Add(subject, "m3").ToReplicaBatch(set.Epoch, 1));
        await Task.Delay(100);
        Assert.False(second.IsCompleted, "the batch that came first was answered before the one it follows arrived");
        var first = await replica.Append(new FrameBatch().Add(subject, "m1").ToReplicaBatch(set.Epoch, 0));

        Assert.True(first.Accepted);
        Assert.True((await second).Accepted, "the batch that overtook the one before it was refused");
        Assert.Equal(3UL, (await replica.Fence(set.Epoch)).LastSequence);
    }

    /// <summary>A batch whose predecessor never comes (lost, or sent by a primary that is gone) is refused, not kept waiting.</summary>
    [Fact]
    public async Task A_replica_refuses_a_batch_whose_predecessor_never_comes()
    {
        var (config, _) = await CreateReplicatedAsync("N", primaryOnFirstSilo: true);
        var set = (await Catalog.Get(config.Name))!.Replicas!;
        var replica = Cluster.Client.GetGrain<IReplicaGrain>(ReplicaKey.Of(config.Name, set.Nodes[0]));

        var orphan = await replica.Append(new FrameBatch().Add(SubjectIn(config), "m2").ToReplicaBatch(set.Epoch, 1)).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(orphan.Accepted);
        Assert.Equal(0UL, orphan.LastSequence);
    }

    [Fact]
    public async Task A_fenced_primary_acks_nothing_and_its_unacknowledged_tail_is_put_aside_when_it_returns()
    {
        var (config, primary) = await CreateReplicatedAsync("T", primaryOnFirstSilo: false);
        var grain = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        for (int i = 0; i < 5; i++)
            Assert.Null((await new FrameBatch().Add(SubjectIn(config), $"m{i}").AppendTo(grain))[0].Error);
        var first = Cluster.Silos[0];
        var other = Cluster.Silos.Single(s => s != first && s != primary);
        // The replica on the other node goes: the primary and the first silo's replica go on as a quorum.
        await Cluster.StopSiloAsync(other);
        Assert.Equal(6UL, (await new FrameBatch().Add(SubjectIn(config), "m5").AppendTo(grain))[0].Sequence);

        // A promotion begins (the catalog's first step fences the in-sync replicas) while the old primary still runs:
        // what it stores now is refused by its replica, so it is never acknowledged.
        var epoch = (await Catalog.Get(config.Name))!.Replicas!.Epoch;
        Assert.True((await Cluster.Client.GetGrain<IReplicaGrain>(ReplicaKey.Of(config.Name, first.Name)).Fence(epoch + 1)).Accepted);
        var stale = (await new FrameBatch().Add(SubjectIn(config), "stale").AppendTo(grain))[0];
        Assert.NotNull(stale.Error);

        await Cluster.StopSiloAsync(primary);
        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.HomeOf(0) == first.Name, "the first silo's replica is promoted");
        // Alone it commits nothing it holds, so it counts nothing in stream info either.
        await Assert.ThrowsAsync<StreamOfflineException>(() => grain.GetInfo(false, null));

        // The old primary returns with its log, one message longer than the new primary's: that tail is put aside.
        await Cluster.RestartSiloAsync(primary);
        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.Replicas!.InSync.Contains(primary.Name), "the old primary is back in sync");
        Assert.Equal(6UL, (await grain.GetInfo(false, null)).Value!.State.LastSequence);
        Assert.Equal(7UL, (await new FrameBatch().Add(SubjectIn(config), "new").AppendTo(grain))[0].Sequence);
        Assert.Equal("new", System.Text.Encoding.UTF8.GetString((await grain.GetMessage(new MessageQuery(7, null, null))).Value!.Payload));
        var streamDirectory = StoreOf(Cluster.Silos.Single(s => s.Name == primary.Name)).StreamDirectory(config.Name);
        Assert.Single(Directory.GetDirectories(streamDirectory, "p0.diverged-*"));
    }

    /// <summary>
    /// The primary's node dies while the only in-sync replica up answers as a damaged copy (the other replica's node is
    /// down, and no publish since moved it out of the in-sync set): that copy is never promoted, the stream stays
    /// offline and takes no write, at the epoch the damaged copy took. It comes back when a node does: the other
    /// replica (the catalog is asked again, and promotes it, not the damaged copy) or the old primary (serving at that
    /// epoch, which the damaged copy accepts before the primary rebuilds it). Every acknowledged message is kept.
    /// </summary>
    [Theory]
    [InlineData("replica")]
    [InlineData("primary")]
    public async Task A_damaged_copy_is_never_promoted_and_the_stream_comes_back_with_the_next_node(string returning)
    {
        var (config, primary) = await CreateReplicatedAsync("N" + returning[0], primaryOnFirstSilo: false);
        var grain = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        for (int i = 0; i < 5; i++)
            Assert.Null((await new FrameBatch().Add(SubjectIn(config), $"m{i}").AppendTo(grain))[0].Error);
        var first = Cluster.Silos[0];
        var other = Cluster.Silos.Single(s => s != first && s != primary);
        var before = (await Catalog.Get(config.Name))!.Replicas!;
        _damagedReplicas.Damage(first.Name);

        await Cluster.StopSiloAsync(other);
        await Cluster.StopSiloAsync(primary);
        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.Replicas!.Epoch == before.Epoch + 1,
            "the damaged copy takes the next epoch when the catalog tries to promote");
        var offline = (await Catalog.Get(config.Name))!;
        Assert.Equal(primary.Name, offline.HomeOf(0));
        Assert.Equal(before.InSync, offline.Replicas!.InSync);
        Assert.Equal(0UL, await AckedSequenceAsync("offline"));

        var back = returning == "replica" ? other : primary;
        await Cluster.RestartSiloAsync(back);
        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.HomeOf(0) == back.Name, $"{back.Name} serves the stream");
        Assert.NotEqual(first.Name, (await Catalog.Get(config.Name))!.HomeOf(0));
        _damagedReplicas.Clear();
        ulong sequence = 0;
        await WaitUntilAsync(async () => (sequence = await AckedSequenceAsync("back")) != 0, "a write is acknowledged again");
        Assert.Equal(6UL, sequence);
        for (ulong seq = 1; seq <= 5; seq++)
            Assert.Equal($"m{seq - 1}", System.Text.Encoding.UTF8.GetString((await grain.GetMessage(new MessageQuery(seq, null, null))).Value!.Payload));

        // The sequence a publish with its payload as msg id was acknowledged at; 0 for an error or an offline stream.
        async Task<ulong> AckedSequenceAsync(string payload)
        {
            try
            {
                var ack = (await new FrameBatch().Add(SubjectIn(config), payload, ("Nats-Msg-Id", payload)).AppendTo(grain))[0];
                return ack.Error is null ? ack.Sequence : 0;
            }
            catch (Exception ex) when (ex is StreamOfflineException or TimeoutException or OrleansException)
            {
                return 0;
            }
        }
    }

    /// <summary>Creates R3 streams until one has its primary on the first silo (which cannot be stopped), or elsewhere.</summary>
    private async Task<(PlatformStreamConfig Config, InProcessSiloHandle Primary)> CreateReplicatedAsync(string prefix, bool primaryOnFirstSilo, long maxMsgs = 0,
        long subjectDeleteMarkerTtl = 0, bool counter = false)
    {
        for (int i = 0; ; i++)
        {
            var config = new PlatformStreamConfig
            {
                Name = $"{prefix}{i}", Subjects = [$"{prefix.ToLowerInvariant()}{i}.>"], NumReplicas = 3, MaxMsgs = maxMsgs,
                AllowMsgTtl = subjectDeleteMarkerTtl > 0, SubjectDeleteMarkerTtl = subjectDeleteMarkerTtl,
                AllowMsgCounter = counter,
            }.WithDefaults();
            Assert.Null((await Catalog.Create(config)).Error);
            var home = (await Catalog.Get(config.Name))!.HomeOf(0);
            if (home == Cluster.Silos[0].Name == primaryOnFirstSilo)
                return (config, Cluster.Silos.Single(s => s.Name == home));
        }
    }

    private static string SubjectIn(PlatformStreamConfig config) => config.Subjects[0].Replace(">", "x");

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"not within 30 s: {what}");
            await Task.Delay(100);
        }
    }
}
