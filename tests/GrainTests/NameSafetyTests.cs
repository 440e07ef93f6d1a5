using Platform.Grains.Consumers;
using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests;

/// <summary>
/// Orleans clients reach the grains without the $JS.API in front: hostile names are refused there too, and a grain
/// keyed by one touches nothing outside the store.
/// </summary>
public sealed class NameSafetyTests(ClusterFixture fixture) : GrainTestBase(fixture), IClassFixture<ClusterFixture>
{
    [Theory]
    [InlineData("../x", 10052)]
    [InlineData("..", 10052)]
    [InlineData("a/b", 10128)]
    [InlineData("a\\b", 10128)]
    [InlineData("a\0b", 10052)]
    [InlineData("a b", 10052)]
    public async Task Catalog_refuses_stream_names_that_are_not_names(string name, int errCode)
    {
        var result = await Catalog.Create(new PlatformStreamConfig { Name = name, Subjects = ["ns." + Guid.NewGuid().ToString("N")] }.WithDefaults());
        Assert.Equal(errCode, result.Error?.ErrCode);
        Assert.DoesNotContain(await Catalog.List(), c => c.Name == name);
    }

    [Theory]
    [InlineData("../../VICTIM", 10103)]
    [InlineData("/tmp/x", 10127)]
    [InlineData("a\0b", 10103)]
    public async Task Streams_refuse_consumer_names_that_are_not_names(string name, int errCode)
    {
        var stream = await CreateAsync();
        var result = await stream.Grain.AddConsumer(new PlatformConsumerConfig { DurableName = name, AckPolicy = AckPolicy.Explicit }.WithDefaults());
        Assert.Equal(errCode, result.Error?.ErrCode);
        Assert.Empty(await stream.Grain.ConsumerNames());
    }

    [Fact]
    public async Task Grains_keyed_by_a_path_touch_nothing_outside_the_store()
    {
        var stream = await CreateAsync();
        await stream.Publish("a");
        var sentinel = Path.Combine(Path.GetTempPath(), "sentinel" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(sentinel);
        File.WriteAllText(Path.Combine(sentinel, "state.json"), "{}");
        File.WriteAllText(Path.Combine(sentinel, "meta.json"), "{}");
        try
        {
            var consumer = Fixture.Grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream.Name, sentinel));
            Assert.Null(await consumer.GetConfig());
            Assert.False(await consumer.Delete());
            var relative = Fixture.Grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream.Name, "../../" + stream.Name));
            Assert.Null(await relative.GetConfig());
            Assert.False(await relative.Delete());
            Assert.Equal(10059, (await Fixture.Grains.GetGrain<IStreamGrain>(sentinel).GetInfo(false, null)).Error?.ErrCode);
            Assert.False(await Fixture.Grains.GetGrain<IStreamGrain>(sentinel).Delete());
            Assert.Equal(2, Directory.GetFiles(sentinel).Length);
            Assert.Equal(1ul, (await stream.State()).Messages);
        }
        finally
        {
            Directory.Delete(sentinel, recursive: true);
        }
    }
}
