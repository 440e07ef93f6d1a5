namespace Platform.Grains.Streaming;

/// <summary>
/// What a silo's platform stream provider serves, for clients to learn instead of repeating it. Keyed by provider
/// name; every silo of a cluster registers the same providers, so whichever silo answers speaks for all.
/// </summary>
[Alias("platform.IStreamProviderInfoGrain")]
public interface IStreamProviderInfoGrain : IGrainWithStringKey
{
    /// <summary>The provider's namespaces and queues, or null when the silo has no platform provider of that name.</summary>
    [Alias("Describe")] Task<ProviderDescription?> Describe();
}

/// <summary>The namespaces a provider carries, and how many queues (stream partitions) each has.</summary>
[GenerateSerializer, Immutable, Alias("platform.ProviderDescription")]
public sealed record ProviderDescription([property: Id(0)] string[] Namespaces, [property: Id(1)] int QueuesPerNamespace);
