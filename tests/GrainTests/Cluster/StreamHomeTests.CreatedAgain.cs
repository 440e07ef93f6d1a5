using Platform.Grains.Consumers;
using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests.Cluster;

public sealed partial class StreamHomeTests
{
    /// <summary>
    /// A stream deleted and created again at once, its new home on another node: the silos that called the old
    /// stream's grains still have them located on the old home, where a new activation refuses to serve (its home is
    /// elsewhere). nats-server takes such a create and the calls after it; so must the silo, with no retry by the caller.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task A_stream_created_again_with_its_home_on_another_node_serves_at_once(int replicas)
    {
        var config = new PlatformStreamConfig { Name = "AGAIN", Subjects = ["again.>"], NumReplicas = replicas }.WithDefaults();
        var consumerConfig = new PlatformConsumerConfig { DurableName = "reader", AckPolicy = AckPolicy.Explicit }.WithDefaults();
        var stream = Cluster.Client.GetGrain<IStreamGrain>(config.Name);
        var consumer = Cluster.Client.GetGrain<IConsumerGrain>(ConsumerKey.Of(config.Name, "reader"));
        Assert.Null((await Catalog.Create(config)).Error);
        var firstHome = (await Catalog.Get(config.Name))!.HomeOf(0);
        Assert.Null((await new FrameBatch().Add("again.x", "old").AppendTo(stream))[0].Error);
        Assert.Null((await stream.AddConsumer(consumerConfig)).Error);
        Assert.Single(Delivered(await consumer.Fetch(1, 0, TimeSpan.Zero, AckOp.None)));

        Assert.True(await Catalog.Delete(config.Name));
        // The node with the fewest streams is the next home: a stream on the old home moves the new one elsewhere.
        var pad = new PlatformStreamConfig { Name = "PAD", Subjects = ["pad.>"] }.WithDefaults();
        Assert.Null((await Catalog.Create(pad)).Error);
        Assert.Equal(firstHome, (await Catalog.Get(pad.Name))!.HomeOf(0));

        Assert.Null((await Catalog.Create(config)).Error);
        Assert.NotEqual(firstHome, (await Catalog.Get(config.Name))!.HomeOf(0));
        var ack = (await new FrameBatch().Add("again.x", "new").AppendTo(stream))[0];
        Assert.Equal((null, 1UL), (ack.Error, ack.Sequence));
        Assert.Null((await stream.AddConsumer(consumerConfig)).Error);
        var delivered = Delivered(await consumer.Fetch(1, 0, TimeSpan.Zero, AckOp.None));
        Assert.Equal([1UL], delivered.Select(d => d.Seq));
    }
}
