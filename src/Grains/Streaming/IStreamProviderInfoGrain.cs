namespace Platform.Grains.Streaming;

/// <summary>
/// What a silo's platform stream provider serves, for clients to learn instead of repeating it. Keyed by provider
/// name; every silo of a cluster registers the same providers, so whichever silo answers speaks for all.
/// </summary>
[Alias("platform.IStreamProviderInfoGrain")]
public interface IStreamProviderInfoGrain : IGrainWithStringKey
{
    /// <summary>The namespaces the provider carries, or null when the silo has no platform provider of that name.</summary>
    [Alias("GetNamespaces")] Task<string[]?> GetNamespaces();
}
