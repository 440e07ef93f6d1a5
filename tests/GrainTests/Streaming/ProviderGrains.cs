using System.Collections.Concurrent;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Platform.GrainTests.Streaming;

[GenerateSerializer, Alias("tests.TestEvent")]
public sealed record TestEvent([property: Id(0)] int N, [property: Id(1)] string Text);

[GenerateSerializer, Alias("tests.Received")]
public readonly record struct Received([property: Id(0)] long Sequence, [property: Id(1)] int N);

[Alias("tests.ISubscriberGrain")]
public interface ISubscriberGrain : IGrainWithStringKey
{
    [Alias("Subscribe")] Task Subscribe(string ns, string key, long fromSequence);
    /// <summary>A second subscription from the sequence: the agent starts it at once.</summary>
    [Alias("SubscribeAgain")] Task SubscribeAgain(long fromSequence);
    /// <summary>Resumes the existing subscription at the sequence: Orleans applies it at the next delivery handshake.</summary>
    [Alias("Rewind")] Task Rewind(long fromSequence);
    [Alias("Received")] Task<Received[]> GetReceived();
    /// <summary>How many subscriptions the provider's pub-sub holds for this grain on the stream.</summary>
    [Alias("CountSubscriptions")] Task<int> CountSubscriptions(string ns, string key);
}

/// <summary>An explicit subscriber that records what it gets with its tokens.</summary>
public sealed class SubscriberGrain : Grain, ISubscriberGrain
{
    private readonly List<Received> _received = [];
    private StreamSubscriptionHandle<TestEvent>? _handle;
    private IAsyncStream<TestEvent>? _stream;

    public async Task Subscribe(string ns, string key, long fromSequence)
    {
        var stream = _stream = this.GetStreamProvider("platform").GetStream<TestEvent>(StreamId.Create(ns, key));
        _handle = fromSequence > 0
            ? await stream.SubscribeAsync(OnNext, new EventSequenceTokenV2(fromSequence))
            : await stream.SubscribeAsync(OnNext);
    }

    public async Task SubscribeAgain(long fromSequence) => await _stream!.SubscribeAsync(OnNext, new EventSequenceTokenV2(fromSequence));

    public async Task Rewind(long fromSequence) => _handle = await _handle!.ResumeAsync(OnNext, new EventSequenceTokenV2(fromSequence));

    public Task<Received[]> GetReceived() => Task.FromResult(_received.ToArray());

    public async Task<int> CountSubscriptions(string ns, string key)
        => (await this.GetStreamProvider("platform").GetStream<TestEvent>(StreamId.Create(ns, key)).GetAllSubscriptionHandles()).Count;

    private Task OnNext(TestEvent e, StreamSequenceToken? token)
    {
        // Event N = -1 is a poison message: the handler fails every time it sees it.
        if (e.N < 0)
            throw new InvalidOperationException("poison event");
        _received.Add(new Received(token!.SequenceNumber, e.N));
        return Task.CompletedTask;
    }
}

[Alias("tests.IImplicitGrain")]
public interface IImplicitGrain : IGrainWithStringKey
{
}

/// <summary>An implicit subscriber of namespace "impl" (no pub-sub state, so it works across a restart); it records
/// into <see cref="Log"/>, which outlives the cluster.</summary>
[ImplicitStreamSubscription("impl")]
public sealed class ImplicitGrain : Grain, IImplicitGrain, IStreamSubscriptionObserver
{
    public static readonly ConcurrentDictionary<string, ConcurrentQueue<Received>> Log = new();

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        var key = this.GetPrimaryKeyString();
        await handleFactory.Create<TestEvent>().ResumeAsync((e, token) =>
        {
            Log.GetOrAdd(key, _ => new()).Enqueue(new Received(token!.SequenceNumber, e.N));
            return Task.CompletedTask;
        });
    }
}

[Alias("tests.IHomeProbeGrain")]
public interface IHomeProbeGrain : IGrainWithStringKey
{
}

/// <summary>
/// An implicit subscriber of namespace "probe" that activates where the pulling agent calls it from, so it records on
/// which silo the agent of its queue runs (<see cref="Silos"/>, keyed by stream key).
/// </summary>
[ImplicitStreamSubscription("probe"), Orleans.Placement.PreferLocalPlacement]
public sealed class HomeProbeGrain(ILocalSiloDetails silo) : Grain, IHomeProbeGrain, IStreamSubscriptionObserver
{
    public static readonly ConcurrentDictionary<string, string> Silos = new();

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        var key = this.GetPrimaryKeyString();
        await handleFactory.Create<TestEvent>().ResumeAsync((_, _) =>
        {
            Silos[key] = silo.Name;
            return Task.CompletedTask;
        });
    }
}
