using System.Collections.Concurrent;
using Orleans.Runtime;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Platform.IntegrationTests.Orleans;

/// <summary>One event of a run of NatsStreamProviderTests: <see cref="Number"/> counts up per Orleans stream.</summary>
[GenerateSerializer, Alias("tests.NatsProviderEvent")]
public sealed record NatsProviderEvent([property: Id(0)] string Run, [property: Id(1)] int Number);

/// <summary>Produces events on the Orleans stream (<see cref="NatsProviderReceiverGrain.Namespace"/>, this grain's key).</summary>
[Alias("tests.INatsProviderProducerGrain")]
public interface INatsProviderProducerGrain : IGrainWithStringKey
{
    [Alias("Produce")] Task Produce(string provider, string run, int from, int count);
}

public sealed class NatsProviderProducerGrain : Grain, INatsProviderProducerGrain
{
    public async Task Produce(string provider, string run, int from, int count)
    {
        var stream = this.GetStreamProvider(provider)
            .GetStream<NatsProviderEvent>(StreamId.Create(NatsProviderReceiverGrain.Namespace, this.GetPrimaryKeyString()));
        for (int i = from; i < from + count; i++)
            await stream.OnNextAsync(new NatsProviderEvent(run, i));
    }
}

/// <summary>Subscribed implicitly to the namespace, on every provider: records what each stream delivers.</summary>
[Alias("tests.INatsProviderReceiverGrain")]
public interface INatsProviderReceiverGrain : IGrainWithStringKey;

[ImplicitStreamSubscription(Namespace)]
public sealed class NatsProviderReceiverGrain : Grain, INatsProviderReceiverGrain, IStreamSubscriptionObserver
{
    public const string Namespace = "natsprov";

    /// <summary>
    /// What each (run, stream key) received, in delivery order. Static: the test's Orleans cluster runs in the test
    /// process, and what was received must outlive the cluster the test restarts.
    /// </summary>
    public static readonly ConcurrentDictionary<(string Run, string Key), ConcurrentQueue<int>> Received = new();

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<NatsProviderEvent>().ResumeAsync((e, _) =>
        {
            Received.GetOrAdd((e.Run, handleFactory.StreamId.GetKeyAsString()), _ => new()).Enqueue(e.Number);
            return Task.CompletedTask;
        });
}
