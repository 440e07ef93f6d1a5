using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests.Cluster;

/// <summary>
/// A publisher's pipelined batches are stored in the order it published them, whatever order they arrive in: Orleans
/// may deliver calls between two silos out of order, and nats-server stores one connection's messages in order.
/// </summary>
public sealed partial class StreamHomeTests
{
    [Fact]
    public async Task A_publishers_batch_that_arrives_before_the_one_published_ahead_of_it_is_stored_after_it()
    {
        var config = new PlatformStreamConfig { Name = "ORDER", Subjects = ["order.>"] }.WithDefaults();
        Assert.Null((await Catalog.Create(config)).Error);
        var stream = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        const long publisher = 42;

        var second = new FrameBatch().Add("order.a", "m2").Add("order.a", "m3").AppendPipelinedTo(stream, new BatchOrder(publisher, 2, 1));
        await Task.Delay(100);
        Assert.False(second.IsCompleted, "a batch was stored before the one published ahead of it arrived");
        var first = await new FrameBatch().Add("order.a", "m1").AppendPipelinedTo(stream, new BatchOrder(publisher, 1, 1));

        Assert.Equal([(1UL, (ApiError?)null)], first.Select(a => (a.Sequence, a.Error)));
        Assert.Equal([(2UL, (ApiError?)null), (3UL, null)], (await second).Select(a => (a.Sequence, a.Error)));
    }

    [Fact]
    public async Task A_publishers_batch_whose_predecessor_never_comes_is_stored_after_a_short_wait()
    {
        var config = new PlatformStreamConfig { Name = "ORDERLOST", Subjects = ["orderlost.>"] }.WithDefaults();
        Assert.Null((await Catalog.Create(config)).Error);
        var stream = Cluster.Client.GetGrain<IStreamGrain>(config.Name);

        var acks = await new FrameBatch().Add("orderlost.a", "m2").AppendPipelinedTo(stream, new BatchOrder(7, 2, 1)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([(1UL, (ApiError?)null)], acks.Select(a => (a.Sequence, a.Error)));
        // The publisher's next batch is not held for the one that never came.
        var next = await new FrameBatch().Add("orderlost.a", "m3").AppendPipelinedTo(stream, new BatchOrder(7, 3, 2)).WaitAsync(PublisherTurns.Wait - TimeSpan.FromMilliseconds(100));
        Assert.Equal(2UL, next[0].Sequence);
    }
}
