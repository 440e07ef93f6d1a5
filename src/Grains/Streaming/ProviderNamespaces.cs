namespace Platform.Grains.Streaming;

/// <summary>
/// The namespaces one provider may produce to: on a silo, those it is configured with (it runs their queues); on a
/// client, those the cluster's silos serve, learnt when the client starts (<see cref="NamespaceDiscovery"/>). Producing
/// to any other namespace would store events that no queue ever delivers, so it is refused.
/// </summary>
internal sealed class ProviderNamespaces(string provider, IReadOnlyList<string> configured)
{
    private volatile string[] _served = [.. configured];

    public IReadOnlyList<string> Served => _served;

    public void Learn(string[] served) => _served = served;

    public void Check(string ns)
    {
        if (Array.IndexOf(_served, ns) < 0)
            throw new ArgumentException(
                $"Orleans stream namespace \"{ns}\" is not served by the platform stream provider \"{provider}\" (it serves: {Describe(_served)}); " +
                "events produced to it would never be delivered.", nameof(ns));
    }

    public static string Describe(IReadOnlyList<string> namespaces) => namespaces.Count == 0 ? "none" : string.Join(", ", namespaces);
}
