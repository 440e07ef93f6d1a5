using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Platform.Grains.Client;
using Platform.Grains.Streams;

namespace Platform.Grains.Streaming;

/// <summary>
/// The platform streams one provider writes to (its namespaces, its dead-letter stream), created as
/// <c>&lt;name&gt;</c> with subjects <c>&lt;name&gt;.&gt;</c> the first time they are needed when
/// <see cref="PlatformStreamOptions.CreateStreams"/> is on; a namespace's stream with a partition per queue.
/// </summary>
internal sealed class ProviderStreams(IServiceProvider services, PlatformStreamOptions options, ProviderNamespaces namespaces)
{
    private readonly ConcurrentDictionary<string, Task> _created = new(StringComparer.Ordinal);

    // Resolved late: on a silo the grain factory is not available while providers are being constructed.
    private IGrainFactory Grains => services.GetRequiredService<IGrainFactory>();

    public Task EnsureAsync(string name)
    {
        if (!options.CreateStreams)
            return Task.CompletedTask;
        var task = _created.GetOrAdd(name, CreateAsync);
        // A failed attempt is not remembered, so the next produce or receiver start tries again.
        if (task.IsFaulted)
            _created.TryRemove(new KeyValuePair<string, Task>(name, task));
        return task;
    }

    private async Task CreateAsync(string name)
    {
        // The silos' count (a client learns it when it starts).
        int queues = namespaces.Description.QueuesPerNamespace;
        var info = await Grains.GetGrain<IStreamGrain>(name).GetInfo(false, null);
        if (info.Value is { } existing)
        {
            // Another partition count would leave partitions without a queue (their events never delivered).
            if (namespaces.Serves(name) && StreamKeys.Count(existing.Config) != queues)
                throw new InvalidOperationException(
                    $"Platform stream \"{name}\" has {StreamKeys.Count(existing.Config)} partition(s), but the provider reads it with {queues} queue(s) (QueuesPerNamespace).");
            return;
        }
        // One partition is written as none, as NATS clients create it, so their create-or-update matches.
        int partitions = namespaces.Serves(name) && queues > 1 ? queues : 0;
        var result = await Grains.GetGrain<IStreamCatalogGrain>(0).Create(new PlatformStreamConfig { Name = name, Subjects = [name + ".>"], Partitions = partitions }.WithDefaults());
        if (result.Error is { } error)
            throw new PlatformStreamException(error);
    }
}
