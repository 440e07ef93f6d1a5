using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Cluster;

/// <summary>
/// Three silos in one process, one NATS system: the expected observations are nats-server's (see the differential
/// tests), over the same route connections silo processes use.
/// </summary>
public sealed class CoreAcrossSilosTests(CoreAcrossSilosTests.Fixture fixture) : IClassFixture<CoreAcrossSilosTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        public SiloCluster Cluster { get; private set; } = null!;
        public async Task InitializeAsync() => Cluster = await SiloCluster.StartAsync(3);
        public async Task DisposeAsync() => await Cluster.DisposeAsync();
    }

    [Fact]
    public async Task Wildcard_subscriptions_on_other_silos_get_what_they_match()
        => Assert.Equal(Expected.Wildcards, await CoreClusterScript.WildcardsAsync(fixture.Cluster));

    [Fact]
    public async Task Unsub_and_auto_unsub_withdraw_interest_from_other_silos()
        => Assert.Equal(Expected.Unsubscribe, await CoreClusterScript.UnsubscribeAsync(fixture.Cluster));

    [Fact]
    public async Task Queue_group_spread_over_silos_delivers_each_message_once()
        => Assert.Equal(Expected.QueueGroup, await CoreClusterScript.QueueGroupAsync(fixture.Cluster));

    [Fact]
    public async Task Request_with_an_inbox_subscribed_just_before_gets_its_reply_from_another_silo()
        => Assert.Equal(Expected.FreshInboxRequests, await CoreClusterScript.FreshInboxRequestsAsync(fixture.Cluster));

    [Fact]
    public async Task Ten_thousand_messages_from_one_publisher_arrive_in_order_on_another_silo()
        => Assert.Equal(Expected.Order, await CoreClusterScript.OrderAsync(fixture.Cluster));
}

/// <summary>A route holds a bounded backlog; a publisher that outruns it waits.</summary>
public sealed class RouteBackpressureTests
{
    /// <summary>
    /// 40 MB published as fast as the client can, ten times what a route may hold (max_pending 4 MB): the publisher's silo stops reading it while the route is behind, so nothing is dropped.
    /// </summary>
    [Fact]
    public async Task A_publisher_faster_than_the_route_is_slowed_down_not_dropped()
    {
        const int messages = 40_000;
        await using var cluster = await SiloCluster.StartAsync(2, maxPending: 4 * 1024 * 1024);
        await using var pub = await CoreClusterScript.ConnectAsync(cluster.Urls[0]);
        await using var subConnection = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts
        {
            Url = cluster.Urls[1],
            SubPendingChannelCapacity = messages,
        });
        await using var sub = await subConnection.SubscribeCoreAsync<byte[]>("bulk.x");
        await CoreClusterScript.WaitForInterestAsync(pub, subConnection);
        var received = CoreClusterScript.ReceiveAsync(sub, messages);
        var payload = new byte[1024];
        for (int i = 0; i < messages; i++)
            await pub.PublishAsync("bulk.x", payload);
        Assert.Equal(messages, await received);
    }
}

/// <summary>A silo leaving takes its interest with it; each test gets a cluster of its own since it stops a silo.</summary>
public sealed class SiloLeavingTests
{
    [Fact]
    public async Task A_stopped_silo_gets_no_more_messages_of_its_queue_group()
    {
        await using var cluster = await SiloCluster.StartAsync(3);
        Assert.Equal(Expected.NodeStop, await CoreClusterScript.NodeStopAsync(cluster));
    }

    /// <summary>
    /// The leaving silo's routes are closed before it stops, so it cannot withdraw its interest itself (as after a crash
    /// or a partition): only membership telling the others it is gone can drop it.
    /// </summary>
    [Fact]
    public async Task A_silo_that_leaves_membership_without_a_word_loses_its_interest()
    {
        await using var cluster = await SiloCluster.StartAsync(3);
        var routes = (Microsoft.Extensions.Hosting.IHostedService)cluster.Services(1).GetService(typeof(Platform.Gateway.Cluster.ClusterRoutes))!;
        Assert.Equal(Expected.NodeStop, await CoreClusterScript.NodeStopAsync(cluster, () => routes.StopAsync(CancellationToken.None)));
    }
}

/// <summary>What nats-server 2.9.10 clusters answer to each step (checked by <see cref="CoreClusterDifferentialTests"/>).</summary>
internal static class Expected
{
    public const string Wildcards = "w.*: w.a | w.>: w.a w.a.b w.x.y.z | w.a.b: w.a.b";
    public const string Unsubscribe = "before unsub: before | after unsub: no responders | auto-unsub 3 got: 1 2 3 | after auto-unsub: no responders";
    public const string QueueGroup = "300 published: 300 delivered once, 0 more than once, 0 lost; nodes with deliveries: 3";
    public const string FreshInboxRequests = "20/20 answered";
    public const string Order = "10000/10000 received, 0 out of order";
    public const string NodeStop = "after the stop: 100/100 reach the member left";
}
