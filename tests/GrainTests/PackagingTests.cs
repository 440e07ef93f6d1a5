using Platform.Grains.Client;
using Platform.Grains.Streaming;

namespace Platform.GrainTests;

/// <summary>What the client package (Platform.Client) carries, and what it must not pull into a client.</summary>
public sealed class PackagingTests
{
    [Fact]
    public void The_client_assembly_carries_the_client_api_without_the_storage_engine_or_the_silo_side()
    {
        var client = typeof(PlatformStreams).Assembly;
        Assert.Equal("Platform.Client", client.GetName().Name);
        Assert.Same(client, typeof(LogAdapterFactory).Assembly);
        Assert.Same(client, typeof(Grains.Streams.IStreamGrain).Assembly);
        var references = client.GetReferencedAssemblies().Select(a => a.Name).ToArray();
        Assert.DoesNotContain(references, name => name!.StartsWith("ZoneTree", StringComparison.Ordinal));
        Assert.DoesNotContain("Platform.Grains", references);
        Assert.DoesNotContain("Orleans.Runtime", references);
    }
}
