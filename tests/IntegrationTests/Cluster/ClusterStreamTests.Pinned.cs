using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Cluster;

public sealed partial class ClusterStreamTests
{
    /// <summary>
    /// A pinned_client consumer (2.11) whose clients sit on two other silos than the one it was made through: the pin
    /// (kept by the consumer's grain at its stream's home) goes to the first, the other waits, and an unpin sent through
    /// a third silo moves it to the other, with a new pin id.
    /// </summary>
    [SkippableFact]
    public async Task Pinned_client_consumer_pins_and_unpins_clients_on_any_silo()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        await using var nodes = await Nodes.StartAsync(Postgres, "pinned");
        var js = nodes.Js;
        await js[0].CreateStreamAsync(new StreamConfig("PINS", ["pins.>"]));
        await js[0].CreateOrUpdateConsumerAsync("PINS", new ConsumerConfig("pin")
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            PriorityGroups = ["jobs"],
            PriorityPolicy = ConsumerConfigPriorityPolicy.PinnedClient,
            PinnedTTL = TimeSpan.FromMinutes(1),
        });
        await using var first = new PinnedConsumption<string>(await js[1].GetConsumerAsync("PINS", "pin"), TimeSpan.FromSeconds(60));
        await Task.Delay(300);
        await using var other = new PinnedConsumption<string>(await js[2].GetConsumerAsync("PINS", "pin"), TimeSpan.FromSeconds(60));
        for (int i = 0; i < 3; i++)
            Assert.Null((await js[0].PublishAsync("pins.m", $"m{i}")).Error);

        var firstMessages = await first.WaitForAsync(3, 10);
        Assert.Equal(["m0", "m1", "m2"], firstMessages.Select(m => m.Data));
        var pin = firstMessages[0].Pin;
        Assert.Equal(22, pin.Length);
        Assert.All(firstMessages, m => Assert.Equal(pin, m.Pin));
        Assert.Empty(await other.WaitForAsync(1, 1));
        Assert.Equal(pin, Assert.Single((await js[0].GetConsumerAsync("PINS", "pin")).Info.PriorityGroups!).PinnedClientId);

        // The first client goes (its last pull request with it), the pin stays until the unpin.
        await first.StopAsync();
        await Task.Delay(1500);
        await js[0].UnpinConsumerAsync("PINS", "pin", "jobs");
        for (int i = 3; i < 5; i++)
            Assert.Null((await js[0].PublishAsync("pins.m", $"m{i}")).Error);
        var otherMessages = await other.WaitForAsync(2, 10);
        Assert.Equal(["m3", "m4"], otherMessages.Select(m => m.Data));
        Assert.NotEqual(pin, otherMessages[0].Pin);
        Assert.Equal(otherMessages[0].Pin, Assert.Single((await js[1].GetConsumerAsync("PINS", "pin")).Info.PriorityGroups!).PinnedClientId);
    }
}
