using System.Buffers.Binary;
using Orleans.Concurrency;
using Platform.Grains.Cluster;
using Platform.Grains.Consumers;
using Platform.Grains.Replication;
using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests.Cluster;

/// <summary>
/// Durable consumers of replicated streams: their state (snapshot and journal) is shipped to the stream's replicas,
/// so the replica promoted when the primary's node dies serves the consumer from where it was.
/// </summary>
public sealed partial class StreamHomeTests
{
    [Fact]
    public async Task A_durable_consumer_of_a_replicated_stream_goes_on_from_its_shipped_state_on_the_promoted_replica()
    {
        var (config, primary) = await CreateReplicatedAsync("C", primaryOnFirstSilo: false);
        var stream = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        for (int i = 0; i < 20; i++)
            Assert.Null((await new FrameBatch().Add(SubjectIn(config), $"m{i}").AppendTo(stream))[0].Error);
        var created = await stream.AddConsumer(new PlatformConsumerConfig
        {
            DurableName = "worker",
            AckPolicy = AckPolicy.Explicit,
            AckWait = TimeSpan.FromSeconds(1).Ticks * 100,
        }.WithDefaults());
        Assert.Null(created.Error);
        var consumer = Cluster.Client.GetGrain<IConsumerGrain>(ConsumerKey.Of(config.Name, "worker"));

        var first = Delivered(await consumer.Fetch(10, 0, TimeSpan.Zero, AckOp.None));
        Assert.Equal(Range(1, 10), first.Select(d => d.Seq));
        // 1-6 acknowledged with a reply (AckSync), 7-10 delivered and never acknowledged.
        await consumer.Ack(new Immutable<AckOp[]>([.. first.Take(6).Select(d => new AckOp(AckKind.Ack, d.Seq, 0, 0))]), durable: true);

        // Every replica node holds the consumer's files, as the primary does.
        var set = (await Catalog.Get(config.Name))!.Replicas!;
        foreach (var replica in set.Nodes)
        {
            var directory = ConsumerStore.Directory(StoreOf(Cluster.Silos.Single(s => s.Name == replica)), config.Name, "worker");
            Assert.True(File.Exists(Path.Combine(directory, "state.json")), $"no consumer state on {replica}");
            Assert.True(File.Exists(Path.Combine(directory, ConsumerJournal.FileName)), $"no consumer journal on {replica}");
        }

        await Cluster.StopSiloAsync(primary);
        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.HomeOf(0) != primary.Name, "a replica is promoted");

        // The promoted replica serves the consumer: 7-10 again once their ack wait is over, then 11-20, and 1-6 never.
        var later = new List<(ulong Seq, int Deliveries)>();
        await WaitUntilAsync(async () =>
        {
            try
            {
                later.AddRange(Delivered(await consumer.Fetch(20, 0, TimeSpan.FromMilliseconds(500), AckOp.None)));
            }
            catch (Exception ex) when (ex is StreamOfflineException or SiloUnavailableException or TimeoutException)
            {
                // The consumer's new home is not serving yet.
            }
            return later.Count >= 14;
        }, "the consumer delivers on the promoted replica");
        Assert.Equal(Range(7, 20), later.Select(d => d.Seq).Order());
        Assert.All(later, d => Assert.Equal(d.Seq <= 10 ? 2 : 1, d.Deliveries));
        var info = (await consumer.Info())!;
        Assert.Equal(6UL, info.AckFloor.StreamSeq);
    }

    [Fact]
    public async Task A_replica_refuses_consumer_state_of_an_older_epoch_and_records_that_do_not_continue_its_copy()
    {
        var (config, _) = await CreateReplicatedAsync("K", primaryOnFirstSilo: true);
        var set = (await Catalog.Get(config.Name))!.Replicas!;
        var node = set.Nodes[0];
        var replica = Cluster.Client.GetGrain<IReplicaGrain>(ReplicaKey.Of(config.Name, node));
        var stateFile = Path.Combine(ConsumerStore.Directory(StoreOf(Cluster.Silos.Single(s => s.Name == node)), config.Name, "k"), "state.json");

        // Journal records without the snapshot they continue: refused, so the primary sends the snapshot again.
        Assert.False((await replica.ApplyConsumer(new ConsumerReplicaBatch(set.Epoch, "k", 1, null, 0, [1, 2, 3], false))).Accepted);
        Assert.False(File.Exists(stateFile));

        Assert.True((await replica.Fence(set.Epoch + 1)).Accepted);
        var stale = await replica.ApplyConsumer(new ConsumerReplicaBatch(set.Epoch, "k", 1, "{}"u8.ToArray(), 0, [], false));
        Assert.Equal((false, set.Epoch + 1), (stale.Accepted, stale.Epoch));
        Assert.False(File.Exists(stateFile));
    }

    private static IEnumerable<ulong> Range(int from, int to) => Enumerable.Range(from, to - from + 1).Select(i => (ulong)i);

    /// <summary>The stream sequence and delivery count of each message of a fetch.</summary>
    private static List<(ulong Seq, int Deliveries)> Delivered(Immutable<DeliveryBatch> batch)
    {
        var delivered = new List<(ulong, int)>();
        var frames = batch.Value.Frames.AsSpan(0, batch.Value.Length);
        for (int i = 0, offset = 0; i < batch.Value.Count; i++)
        {
            var frame = frames[offset..];
            delivered.Add((BinaryPrimitives.ReadUInt64LittleEndian(frame), (int)BinaryPrimitives.ReadUInt32LittleEndian(frame[16..])));
            offset += 32 + BinaryPrimitives.ReadInt32LittleEndian(frame[28..]);
        }
        return delivered;
    }
}
