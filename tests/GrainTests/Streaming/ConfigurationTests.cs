using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.TestingHost;
using Platform.Grains.Client;
using Platform.Grains.Streaming;
using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests.Streaming;

/// <summary>The provider configured the Orleans way: from configuration, validated at start, several queues per namespace.</summary>
[Collection(ProviderCollection.Name)]
public sealed class ConfigurationTests
{
    [Fact]
    public async Task A_provider_declared_in_configuration_is_registered_with_its_options()
    {
        using var store = new TempDirectory();
        var cluster = await StartFromConfigurationAsync(store.Path, new()
        {
            ["Orleans:Streaming:platform:ProviderType"] = "Platform",
            ["Orleans:Streaming:platform:Namespaces:0"] = "fromconfig",
            ["Orleans:Streaming:platform:QueuesPerNamespace"] = "2",
            ["Orleans:Streaming:platform:DeadLetterStream"] = "configdead",
            ["Orleans:Streaming:platform:KeepSubscriptionsInStore"] = "true",
        });
        try
        {
            var description = await cluster.Client.GetGrain<IStreamProviderInfoGrain>("platform").Describe();
            Assert.Equal(["fromconfig"], description!.Namespaces);
            Assert.Equal(2, description.QueuesPerNamespace);
            // The receivers made the namespace's stream with a partition per queue.
            var info = await new PlatformStreams(cluster.Client).GetStreamInfoAsync("fromconfig");
            Assert.Equal(2, info.Config.Partitions);
            // Explicit subscriptions go to the store's grain storage.
            await cluster.Client.GetGrain<ISubscriberGrain>("configured-1").Subscribe("fromconfig", "k", 0);
            Assert.True(Directory.EnumerateFiles(Path.Combine(store.Path, "jetstream", "grain-state"), "*", SearchOption.AllDirectories).Any());
        }
        finally
        {
            await TestSilo.StopAsync(cluster);
        }
    }

    [Fact]
    public async Task Invalid_options_stop_the_silo_from_starting_with_every_reason()
    {
        using var store = new TempDirectory();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartFromConfigurationAsync(store.Path, new()
        {
            ["Orleans:Streaming:broken:ProviderType"] = "Platform",
            ["Orleans:Streaming:broken:Namespaces:0"] = "a.b",
            ["Orleans:Streaming:broken:Namespaces:1"] = "ok",
            ["Orleans:Streaming:broken:Namespaces:2"] = "ok",
            ["Orleans:Streaming:broken:QueuesPerNamespace"] = "0",
            ["Orleans:Streaming:broken:KeepSubscriptionsInStore"] = "true",
        }));
        var validation = Assert.IsType<OptionsValidationException>(Unwrap(error));
        Assert.Contains(validation.Failures, f => f.Contains("\"a.b\" is not a valid stream name"));
        Assert.Contains(validation.Failures, f => f.Contains("\"ok\" is listed twice"));
        Assert.Contains(validation.Failures, f => f.Contains("QueuesPerNamespace: 0 is not between 1 and 64"));
    }

    [Fact]
    public async Task Several_queues_per_namespace_each_read_a_partition_and_every_stream_keeps_its_order()
    {
        using var store = new TempDirectory();
        var cluster = await ProviderTests.StartAsync(store.Path, configure: o => o.QueuesPerNamespace = 3);
        try
        {
            const int keys = 12, perKey = 6;
            var grains = Enumerable.Range(0, keys).Select(i => cluster.Client.GetGrain<ISubscriberGrain>($"multi-{i}")).ToArray();
            await Task.WhenAll(grains.Select((g, i) => g.Subscribe("many", $"k{i}", 0)));
            var provider = cluster.Client.GetStreamProvider("platform");
            for (int n = 0; n < perKey; n++)
                await Task.WhenAll(Enumerable.Range(0, keys).Select(i => provider.GetStream<TestEvent>(StreamId.Create("many", $"k{i}")).OnNextAsync(new TestEvent(n, ""))));

            var deadline = DateTime.UtcNow.AddSeconds(20);
            for (int i = 0; i < keys; i++)
            {
                Received[] got;
                while ((got = await grains[i].GetReceived()).Length < perKey && DateTime.UtcNow < deadline)
                    await Task.Delay(50);
                Assert.Equal(Enumerable.Range(0, perKey), got.Select(r => r.N));
                Assert.True(got.Select(r => r.Sequence).SequenceEqual(got.Select(r => r.Sequence).Order()), "tokens ascend");
            }
            // Each partition holds the keys that hash to it, and each has its own queue and checkpoint.
            var streams = new PlatformStreams(cluster.Client);
            Assert.Equal(3, (await streams.GetStreamInfoAsync("many")).Config.Partitions);
            var used = Enumerable.Range(0, keys).Select(i => StreamKeys.PartitionOf($"many.k{i}", 3)).Distinct().Order().ToArray();
            Assert.True(used.Length > 1, "the keys spread over partitions");
            foreach (int p in used)
            {
                var checkpoint = Path.Combine(store.Path, "orleans-streams", "platform", StreamKeys.Partition("many", p) + ".checkpoint");
                while (!File.Exists(checkpoint) && DateTime.UtcNow < deadline)
                    await Task.Delay(50);
                Assert.True(File.Exists(checkpoint), checkpoint);
            }
        }
        finally
        {
            await TestSilo.StopAsync(cluster);
        }
    }

    [Fact]
    public void The_validator_refuses_a_dead_letter_stream_that_is_a_namespace_and_sizes_out_of_range()
    {
        var options = new PlatformStreamOptions { DeadLetterStream = "events", ReadBatchSize = 10, MaxCachedRecords = 5 };
        options.Namespaces.Add("events");
        var result = new PlatformStreamOptionsValidator("p").Validate("p", options);
        Assert.Equal(["Platform stream provider \"p\": DeadLetterStream: \"events\" is also a namespace",
            "Platform stream provider \"p\": MaxCachedRecords: 5 must be at least ReadBatchSize (10)"], result.Failures);
        Assert.True(new PlatformStreamOptionsValidator("p").Validate("other", options).Skipped);
    }

    private static async Task<InProcessTestCluster> StartFromConfigurationAsync(string store, Dictionary<string, string?> settings)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSiloHost((_, host) => host.Configuration.AddInMemoryCollection(settings));
        builder.ConfigureSilo((_, silo) => silo.AddPlatformStreaming(o => o.StoreDirectory = store));
        var cluster = builder.Build();
        try
        {
            await cluster.DeployAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private static Exception Unwrap(Exception error)
    {
        while (error is not OptionsValidationException && error.InnerException is { } inner)
            error = inner;
        return error is AggregateException { InnerExceptions: [var only] } ? Unwrap(only) : error;
    }
}
