using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;

namespace Platform.Grains.Streaming;

/// <summary>Answers from the silo it runs on (a local stateless worker), from the provider's own configuration.</summary>
[StatelessWorker]
internal sealed class StreamProviderInfoGrain(IServiceProvider services) : Grain, IStreamProviderInfoGrain
{
    public Task<ProviderDescription?> Describe() =>
        Task.FromResult(services.GetKeyedService<ProviderNamespaces>(this.GetPrimaryKeyString())?.Description);
}
