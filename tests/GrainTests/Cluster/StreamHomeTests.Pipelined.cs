using System.Text;
using Platform.Grains.Client;
using Platform.Grains.Replication;
using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests.Cluster;

/// <summary>
/// AppendPipelined, the gateway's way into a replicated stream: a batch is stored and sent to the replicas while the
/// batches before it still wait for theirs, and its acks still wait for every in-sync replica and a quorum.
/// </summary>
public sealed partial class StreamHomeTests
{
    [Fact]
    public Task A_batch_goes_to_the_replicas_while_the_one_before_it_waits_for_a_slow_replica()
        => SecondBatchOvertakesAsync("PL", (stream, subject, payloads) =>
        {
            var batch = new FrameBatch();
            foreach (var payload in payloads)
                batch.Add(subject, payload);
            return batch.AppendPipelinedTo(Cluster.Client.GetGrain<IStreamGrain>(stream));
        });

    /// <summary>The .NET client publishes to a replicated stream as the gateway does.</summary>
    [Fact]
    public Task The_dotnet_client_pipelines_its_batches_to_a_replicated_stream_too()
    {
        var streams = new PlatformStreams(Cluster.Client);
        return SecondBatchOvertakesAsync("PC", (stream, subject, payloads) =>
            streams.PublishAsync(stream, [.. payloads.Select(p => new OutgoingMessage(subject, Encoding.UTF8.GetBytes(p)))]));
    }

    /// <summary>
    /// One replica is held: a first batch waits for it, and a second one, published meanwhile, still reaches the other
    /// replica (one round at a time, it would wait behind the first); both are acked once the replica is released.
    /// </summary>
    private async Task SecondBatchOvertakesAsync(string prefix, Func<string, string, string[], Task<PublishAck[]>> publish)
    {
        var (config, _) = await CreateReplicatedAsync(prefix, primaryOnFirstSilo: true);
        var subject = SubjectIn(config);
        Assert.Equal(1UL, (await publish(config.Name, subject, ["m1"]))[0].Sequence);
        var set = (await Catalog.Get(config.Name))!.Replicas!;
        var (slow, other) = (set.InSync[0], set.InSync[1]);

        _replicaAppends.Hold(slow);
        try
        {
            var first = publish(config.Name, subject, ["m2", "m3"]);
            await _replicaAppends.Arrived.WaitAsync(TimeSpan.FromSeconds(30));
            var second = publish(config.Name, subject, ["m4", "m5", "m6"]);

            var otherReplica = Cluster.Client.GetGrain<IReplicaGrain>(ReplicaKey.Of(config.Name, other));
            await WaitUntilAsync(async () => (await otherReplica.Fence(set.Epoch)).LastSequence == 6, "the second batch reaches the other replica");
            Assert.False(first.IsCompleted, "the first batch was acknowledged without its slow replica");
            Assert.False(second.IsCompleted, "the second batch was acknowledged without its slow replica");

            _replicaAppends.Release();
            Assert.Equal([(2UL, (ApiError?)null), (3UL, null)], (await first).Select(a => (a.Sequence, a.Error)));
            Assert.Equal([(4UL, (ApiError?)null), (5UL, null), (6UL, null)], (await second).Select(a => (a.Sequence, a.Error)));
        }
        finally
        {
            _replicaAppends.Release();
        }
        Assert.Equal(set.Epoch, (await Catalog.Get(config.Name))!.Replicas!.Epoch);
        var info = (await Cluster.Client.GetGrain<IStreamGrain>(config.Name).GetInfo(false, null)).Value!;
        Assert.Equal(6UL, info.State.LastSequence);
        Assert.All(info.Replicas!, r => Assert.True(r.Current && r.Lag == 0, $"{r.Name} current {r.Current} lag {r.Lag}"));
    }

    [Fact]
    public async Task Pipelined_batches_a_replica_never_answers_are_acknowledged_once_it_has_left_the_in_sync_set()
    {
        var (config, _) = await CreateReplicatedAsync("PF", primaryOnFirstSilo: true);
        var stream = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        var subject = SubjectIn(config);
        Assert.Null((await new FrameBatch().Add(subject, "m1").AppendPipelinedTo(stream))[0].Error);
        var set = (await Catalog.Get(config.Name))!.Replicas!;
        var (stuck, other) = (set.InSync[0], set.InSync[1]);

        _replicaAppends.Hold(stuck);
        try
        {
            var first = new FrameBatch().Add(subject, "m2").AppendPipelinedTo(stream);
            await _replicaAppends.Arrived.WaitAsync(TimeSpan.FromSeconds(30));
            var second = new FrameBatch().Add(subject, "m3").Add(subject, "m4").AppendPipelinedTo(stream);

            // The stuck replica's calls time out; the round that puts it right drops it from the in-sync set, and then
            // both batches are on every in-sync replica and a quorum.
            Assert.Equal([(2UL, (ApiError?)null)], (await first).Select(a => (a.Sequence, a.Error)));
            Assert.Equal([(3UL, (ApiError?)null), (4UL, null)], (await second).Select(a => (a.Sequence, a.Error)));
            var smaller = (await Catalog.Get(config.Name))!.Replicas!;
            Assert.Equal(set.Epoch + 1, smaller.Epoch);
            Assert.Equal([other], smaller.InSync);
            Assert.Null((await new FrameBatch().Add(subject, "m5").AppendPipelinedTo(stream))[0].Error);
        }
        finally
        {
            _replicaAppends.Release();
        }

        await WaitUntilAsync(async () => (await Catalog.Get(config.Name))!.Replicas!.InSync.Length == 2, "the stuck replica is back in sync");
        Assert.Equal([(6UL, (ApiError?)null)], (await new FrameBatch().Add(subject, "m6").AppendPipelinedTo(stream)).Select(a => (a.Sequence, a.Error)));
        var read = (await stream.Read(1, 10, 0, [])).Value;
        var sequences = new List<ulong>();
        for (int i = 0, offset = 0; i < read.Count; i++)
        {
            StreamRead.ReadFrame(read.Frames.AsSpan(0, read.Length), ref offset, out var sequence, out _);
            sequences.Add(sequence);
        }
        Assert.Equal([1UL, 2, 3, 4, 5, 6], sequences);
    }
}
