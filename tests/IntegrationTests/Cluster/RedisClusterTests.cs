using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Platform.IntegrationTests.Infrastructure;
using Platform.IntegrationTests.Monitoring;

namespace Platform.IntegrationTests.Cluster;

/// <summary>
/// Redis as the cluster's store instead of PostgreSQL: three silo processes find each other through Orleans' Redis
/// membership, the stream catalog lives in Redis grain storage, and a home killed and restarted on its store brings its
/// stream back where the catalog says it lives.
/// </summary>
public sealed class RedisClusterTests
{
    [SkippableFact]
    public async Task Three_silos_on_a_redis_store_form_one_cluster_with_streams_at_their_homes()
    {
        Skip.If(RedisProcess.SkipReason is not null, RedisProcess.SkipReason);
        await using var redis = await RedisProcess.StartAsync();
        var silos = new List<SiloProcess>();
        var clients = new List<NatsConnection>();
        try
        {
            silos.AddRange(await Task.WhenAll(StartNodeAsync(redis, "a"), StartNodeAsync(redis, "b"), StartNodeAsync(redis, "c")));
            // Routes to both others on every silo: each learned the others from the Redis membership table.
            await ProcessCluster.WaitUntilAsync(async () =>
                {
                    foreach (var silo in silos)
                    {
                        if ((await MonitorHttp.GetJsonAsync(silo.HttpPort, "/varz")).GetProperty("routes").GetInt32() != 2)
                            return false;
                    }
                    return true;
                }, TimeSpan.FromSeconds(60), () => Task.FromResult("the silos did not all see each other"));
            foreach (var silo in silos)
            {
                var nats = new NatsConnection(new NatsOpts { Url = silo.Url, RequestTimeout = TimeSpan.FromSeconds(10) });
                clients.Add(nats);
                await nats.ConnectAsync();
            }
            var js = clients.Select(c => new NatsJSContext(c)).ToArray();

            // The catalog (in Redis) spreads three streams over the three nodes; publishes through any silo are acked.
            var homes = new Dictionary<string, string>();
            for (int i = 0; i < 3; i++)
                homes[$"R{i}"] = (await js[0].CreateStreamAsync(new StreamConfig($"R{i}", [$"r{i}.>"]))).Info.Cluster!.Leader!;
            Assert.Equal(["a", "b", "c"], homes.Values.Order(StringComparer.Ordinal));
            for (int i = 0; i < 6; i++)
            {
                var ack = await js[i % 3].PublishAsync("r0.m", $"m{i}");
                ack.EnsureSuccess();
                Assert.Equal((ulong)(i + 1), ack.Seq);
            }

            // Core NATS across silos over the routes.
            await using (var sub = await clients[1].SubscribeCoreAsync<string>("across"))
            {
                await ProcessCluster.WaitUntilAsync(async () =>
                    {
                        await clients[0].PublishAsync("across", "hello");
                        using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                        try
                        {
                            return (await sub.Msgs.ReadAsync(wait.Token)).Data == "hello";
                        }
                        catch (OperationCanceledException)
                        {
                            return false;
                        }
                    }, TimeSpan.FromSeconds(20), () => Task.FromResult("no message crossed from a to b"));
            }

            // R0's home killed and restarted on its store: the catalog still names it, and every message is back.
            int home = silos.FindIndex(s => s.Output.Contains("Node " + homes["R0"] + ",", StringComparison.Ordinal));
            Assert.True(home >= 0);
            var victim = silos[home];
            victim.Kill();
            await clients[home].DisposeAsync();
            var restarted = await StartNodeAsync(redis, homes["R0"], victim.DataDirectory);
            silos[home] = restarted;
            var other = js[(home + 1) % 3];
            await ProcessCluster.WaitUntilAsync(async () =>
                {
                    try
                    {
                        return (await other.GetStreamAsync("R0")).Info.State.Messages == 6;
                    }
                    catch (NatsJSApiException)
                    {
                        return false;
                    }
                }, TimeSpan.FromSeconds(60), () => Task.FromResult("R0 did not come back with its 6 messages"));
            var again = await other.PublishAsync("r0.m", "after");
            again.EnsureSuccess();
            Assert.Equal(7UL, again.Seq);
        }
        finally
        {
            foreach (var client in clients)
                await client.DisposeAsync();
            await ProcessCluster.DisposeAllAsync(silos);
        }
    }

    private static Task<SiloProcess> StartNodeAsync(RedisProcess redis, string name, string? dataDirectory = null)
        => SiloProcess.StartAsync(jetStream: true, dataDirectory, port: 0, ProcessCluster.FastFailureDetection,
            "-n", name, "--cluster_name", "redis", "--cluster_store", redis.Url);
}
