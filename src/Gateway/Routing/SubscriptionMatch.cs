namespace Platform.Gateway.Routing;

/// <summary>The subscriptions one subject reaches: every plain one, and one member of each queue group.</summary>
internal sealed class SubscriptionMatch(Subscription[] plain, Subscription[][] queueGroups)
{
    public static readonly SubscriptionMatch Empty = new([], []);

    public Subscription[] Plain { get; } = plain;
    public Subscription[][] QueueGroups { get; } = queueGroups;
    public bool IsEmpty => Plain.Length == 0 && QueueGroups.Length == 0;
}
