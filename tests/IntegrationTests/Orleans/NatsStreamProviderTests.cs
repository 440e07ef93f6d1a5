using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Streaming.NATS.Hosting;
using Orleans.TestingHost;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Orleans;

/// <summary>
/// Orleans' own NATS stream provider (Microsoft.Orleans.Streaming.NATS) in an Orleans cluster of its own, pointed at a
/// silo process's NATS port, as a user who has the silo in place of nats-server runs it. The provider creates a
/// work-queue stream whose subject_transform spreads "{provider}.{namespace}.{key}" over partition(n) tokens, one
/// durable filtered pull consumer per partition, fetches with no_wait and acks each message with +ACK.
/// nats-server 2.9.10 cannot be the reference here: stream subject transforms came with 2.10, and 2.9 drops the field,
/// so every partition's consumer filters on subjects nothing is stored under and the provider delivers nothing.
/// </summary>
public sealed class NatsStreamProviderTests
{
    private const string Provider = "nats";
    private const string StreamName = "orleans";
    private const int Partitions = 4;
    private const int ProducerCount = 2;
    private const int PerStream = 20;
    private static readonly string[] Keys = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"];

    [Fact]
    public async Task Grains_receive_every_event_of_several_streams_in_order_and_after_a_restart_of_the_orleans_side()
    {
        var run = Guid.NewGuid().ToString("N");
        await using var silo = await SiloProcess.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();

        var first = await StartOrleansAsync(silo.Url, batchSize: 3);
        await ProduceAsync(first, run, from: 0);
        await WaitForAsync(run, PerStream);

        // Each partition has its own consumer, and the keys land on all of them: the transform did partition.
        for (int p = 0; p < Partitions; p++)
        {
            var consumer = await js.GetConsumerAsync(StreamName, $"orleans-{Provider}-{StreamName}-{p}");
            Assert.True(consumer.Info.Delivered.StreamSeq > 0, $"partition {p} delivered nothing");
        }

        // A work queue: what the agents acked (once the events left their cache) is gone from the stream.
        await WaitForStoredAsync(js, 0);

        // With the pulling agents stopped, events wait in the stream; a new Orleans cluster must deliver them all.
        await first.Client.GetGrain<IManagementGrain>(0)
            .SendControlCommandToProvider<PersistentStreamProvider>(Provider, (int)PersistentStreamProviderCommand.StopAgents);
        await ProduceAsync(first, run, from: PerStream);
        Assert.Equal(Keys.Length * PerStream, (await js.GetStreamAsync(StreamName)).Info.State.Messages);
        await StopAsync(first);

        var second = await StartOrleansAsync(silo.Url);
        try
        {
            await WaitForAsync(run, 2 * PerStream);
            await WaitForStoredAsync(js, 0);
        }
        finally
        {
            await StopAsync(second);
        }

        AssertReceivedInOrder(run, 2 * PerStream);
    }

    [Fact]
    public async Task The_provider_reconnects_after_a_kill_of_the_silo_and_delivers_what_was_stored_before_and_after()
    {
        var run = Guid.NewGuid().ToString("N");
        var silo = await SiloProcess.StartAsync(port: SiloProcess.FreePort());
        var orleans = await StartOrleansAsync(silo.Url);
        try
        {
            await orleans.Client.GetGrain<IManagementGrain>(0)
                .SendControlCommandToProvider<PersistentStreamProvider>(Provider, (int)PersistentStreamProviderCommand.StopAgents);
            await ProduceAsync(orleans, run, from: 0);

            await WaitForProviderConnectionsAsync(silo);
            silo.Kill();
            await silo.DisposeAsync();
            silo = await SiloProcess.StartAsync(dataDirectory: silo.DataDirectory, port: silo.Port);
            await WaitForProviderConnectionsAsync(silo);
            await orleans.Client.GetGrain<IManagementGrain>(0)
                .SendControlCommandToProvider<PersistentStreamProvider>(Provider, (int)PersistentStreamProviderCommand.StartAgents);
            await ProduceAsync(orleans, run, from: PerStream);
            await WaitForAsync(run, 2 * PerStream);
        }
        finally
        {
            await StopAsync(orleans);
            await silo.DisposeAsync();
        }
        AssertReceivedInOrder(run, 2 * PerStream);
    }

    [Fact]
    public async Task An_orleans_cluster_restarted_with_fewer_partitions_updates_the_stream_and_delivers_on_the_new_ones()
    {
        var run = Guid.NewGuid().ToString("N");
        await using var silo = await SiloProcess.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();

        var first = await StartOrleansAsync(silo.Url);
        await ProduceAsync(first, run, from: 0);
        await WaitForAsync(run, PerStream);
        await StopAsync(first);

        var second = await StartOrleansAsync(silo.Url, partitions: 2);
        try
        {
            Assert.Equal("nats.{{partition(2,1,2)}}.{{wildcard(1)}}.{{wildcard(2)}}",
                (await js.GetStreamAsync(StreamName)).Info.Config.SubjectTransform!.Dest);
            await ProduceAsync(second, run, from: PerStream);
            await WaitForAsync(run, 2 * PerStream);
        }
        finally
        {
            await StopAsync(second);
        }
        AssertReceivedInOrder(run, 2 * PerStream);
    }

    /// <summary>
    /// The provider's producers publish with TryPublishAsync and only log a failed publish: events produced while its
    /// connections are still reconnecting would be lost by the provider, not by the silo. Nothing else connects here.
    /// </summary>
    private static async Task WaitForProviderConnectionsAsync(SiloProcess silo)
    {
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        int connected;
        while ((connected = await ConnectionsAsync(http, silo)) < 1 + ProducerCount && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.Equal(1 + ProducerCount, connected);
    }

    private static async Task<int> ConnectionsAsync(HttpClient http, SiloProcess silo)
    {
        using var connz = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{silo.HttpPort}/connz"));
        return connz.RootElement.GetProperty("num_connections").GetInt32();
    }

    private static async Task<InProcessTestCluster> StartOrleansAsync(string natsUrl, int partitions = Partitions, int batchSize = 100)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) => silo
            .AddMemoryGrainStorage("PubSubStore")
            .AddNatsStreams(Provider, c => c
                .ConfigureNats(o => o.Configure(n =>
                {
                    n.StreamName = StreamName;
                    // Reconnects at once after the silo restarts, instead of NATS.Net's default backoff of seconds.
                    n.NatsClientOptions = NatsOpts.Default with { Url = natsUrl, ReconnectWaitMin = TimeSpan.FromMilliseconds(100), ReconnectJitter = TimeSpan.Zero };
                    n.BatchSize = batchSize;
                    n.PartitionCount = partitions;
                    n.ProducerCount = ProducerCount;
                }))
                // Orleans' queue i reads NATS partition i: as many queues as partitions.
                .ConfigurePartitioning(partitions)));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private static async Task StopAsync(InProcessTestCluster cluster)
    {
        await cluster.StopAllSilosAsync();
        await cluster.DisposeAsync();
    }

    private static Task ProduceAsync(InProcessTestCluster cluster, string run, int from) =>
        Task.WhenAll(Keys.Select(key => cluster.Client.GetGrain<INatsProviderProducerGrain>(key).Produce(Provider, run, from, PerStream)));

    private static async Task WaitForStoredAsync(INatsJSContext js, long messages)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        long stored;
        while ((stored = (await js.GetStreamAsync(StreamName)).Info.State.Messages) != messages && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal(messages, stored);
    }

    /// <summary>At least once: a redelivery may repeat an event, but the first sight of each is in order.</summary>
    private static void AssertReceivedInOrder(string run, int count)
    {
        foreach (var key in Keys)
            Assert.Equal(Enumerable.Range(0, count), NatsProviderReceiverGrain.Received[(run, key)].Distinct());
    }

    private static async Task WaitForAsync(string run, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !Keys.All(key =>
                   NatsProviderReceiverGrain.Received.TryGetValue((run, key), out var received) && received.Distinct().Count() >= count))
            await Task.Delay(50);
        var counts = Keys.Select(key => NatsProviderReceiverGrain.Received.TryGetValue((run, key), out var r) ? r.Distinct().Count() : 0);
        Assert.True(counts.All(c => c >= count), $"received per stream: {string.Join(", ", counts)} of {count}");
    }
}
