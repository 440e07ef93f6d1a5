using System.Diagnostics;
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
        var opts = new NatsJSConsumeOpts
        {
            MaxMsgs = 10,
            Expires = TimeSpan.FromSeconds(1),
            IdleHeartbeat = TimeSpan.FromMilliseconds(500),
            PriorityGroup = new NatsJSPriorityGroupOpts { Group = "jobs" },
        };
        var firstGot = new List<(string Data, string Pin)>();
        var otherGot = new List<(string Data, string Pin)>();

        async Task ConsumeAsync(INatsJSConsumer consumer, List<(string, string)> into, CancellationToken stop)
        {
            try
            {
                await foreach (var msg in consumer.ConsumeAsync<string>(opts: opts, cancellationToken: stop))
                {
                    lock (into)
                        into.Add((msg.Data!, msg.Headers?["Nats-Pin-Id"].ToString() ?? ""));
                    await msg.AckAsync(cancellationToken: stop);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        async Task<List<(string Data, string Pin)>> WaitForAsync(List<(string Data, string Pin)> list, int count, double seconds)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
            {
                lock (list)
                    if (list.Count >= count)
                        return [.. list];
                await Task.Delay(50);
            }
            lock (list)
                return [.. list];
        }

        using var stopFirst = new CancellationTokenSource();
        using var stopOther = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var first = ConsumeAsync(await js[1].GetConsumerAsync("PINS", "pin"), firstGot, stopFirst.Token);
        await Task.Delay(300);
        var other = ConsumeAsync(await js[2].GetConsumerAsync("PINS", "pin"), otherGot, stopOther.Token);
        for (int i = 0; i < 3; i++)
            Assert.Null((await js[0].PublishAsync("pins.m", $"m{i}")).Error);

        var firstMessages = await WaitForAsync(firstGot, 3, 10);
        Assert.Equal(["m0", "m1", "m2"], firstMessages.Select(m => m.Data));
        var pin = firstMessages[0].Pin;
        Assert.Equal(22, pin.Length);
        Assert.All(firstMessages, m => Assert.Equal(pin, m.Pin));
        Assert.Empty(await WaitForAsync(otherGot, 1, 1));
        Assert.Equal(pin, Assert.Single((await js[0].GetConsumerAsync("PINS", "pin")).Info.PriorityGroups!).PinnedClientId);

        // The first client goes (its last pull request with it), the pin stays until the unpin.
        await stopFirst.CancelAsync();
        await first;
        await Task.Delay(1500);
        await js[0].UnpinConsumerAsync("PINS", "pin", "jobs");
        for (int i = 3; i < 5; i++)
            Assert.Null((await js[0].PublishAsync("pins.m", $"m{i}")).Error);
        var otherMessages = await WaitForAsync(otherGot, 2, 10);
        Assert.Equal(["m3", "m4"], otherMessages.Select(m => m.Data));
        Assert.NotEqual(pin, otherMessages[0].Pin);
        Assert.Equal(otherMessages[0].Pin, Assert.Single((await js[1].GetConsumerAsync("PINS", "pin")).Info.PriorityGroups!).PinnedClientId);
        await stopOther.CancelAsync();
        await other;
    }
}
