using Orleans.Concurrency;
using Platform.Grains.Consumers;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests;

/// <summary>
/// Any name a client sends in a pull request, an ack subject or a consumer lookup activates a consumer grain; for a
/// consumer that does not exist that activation must not stay for the life of the silo.
/// </summary>
public sealed class ConsumerActivationTests(ClusterFixture fixture) : GrainTestBase(fixture), IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task Lookups_of_consumers_that_do_not_exist_leave_no_activations_behind()
    {
        var stream = await CreateAsync(NewConfig());
        int before = await ConsumerActivationsAsync();
        for (int i = 0; i < 40; i++)
        {
            var grain = Fixture.Grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream.Name, $"nobody{i}"));
            Assert.Null(await grain.GetConfig());
            await grain.Ack(new Immutable<AckOp[]>([new AckOp(AckKind.Ack, 1, 1, 0)]), durable: false);
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        int now;
        while ((now = await ConsumerActivationsAsync()) > before && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.Equal(before, now);
    }

    private async Task<int> ConsumerActivationsAsync()
    {
        int count = 0;
        foreach (var stat in await Fixture.Grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics())
            if (stat.GrainType.Contains("ConsumerGrain", StringComparison.Ordinal))
                count += stat.ActivationCount;
        return count;
    }
}
