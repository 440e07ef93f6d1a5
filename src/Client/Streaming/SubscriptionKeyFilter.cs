using Orleans.Runtime;

namespace Platform.Grains.Streaming;

/// <summary>
/// Refuses an explicit subscription to a stream of this provider whose key makes no valid subject
/// (<see cref="StreamKeyRule"/>), in the subscriber's process, before anything is registered. Orleans' persistent
/// streams give the provider no say in <c>SubscribeAsync</c>: its one remote step is Orleans' pub-sub grain's
/// <c>RegisterConsumer(subscriptionId, streamId, ...)</c>, so that outgoing call is where the key is checked.
/// </summary>
internal sealed class SubscriptionKeyFilter(string provider) : IOutgoingGrainCallFilter
{
    private const string RegisterConsumer = "RegisterConsumer";

    public Task Invoke(IOutgoingGrainCallContext context)
    {
        if (string.Equals(context.MethodName, RegisterConsumer, StringComparison.Ordinal)
            && context.Request.GetArgumentCount() > 1
            && context.Request.GetArgument(1) is QualifiedStreamId stream
            && string.Equals(stream.ProviderName, provider, StringComparison.Ordinal))
            StreamKeyRule.Check(stream.StreamId);
        return context.Invoke();
    }
}
