namespace Platform.Grains.Streaming;

/// <summary>
/// The namespaces one provider may produce to, and the queues (stream partitions) of each: on a silo, what it is
/// configured with (it runs those queues); on a client, what the cluster's silos serve, learnt when the client starts
/// (<see cref="NamespaceDiscovery"/>). Producing to any other namespace would store events that no queue ever
/// delivers, so it is refused.
/// </summary>
internal sealed class ProviderNamespaces(string provider, PlatformStreamOptions options)
{
    private volatile ProviderDescription _description = new([.. options.Namespaces], options.QueuesPerNamespace);

    public ProviderDescription Description => _description;

    public void Learn(ProviderDescription served) => _description = served;

    public bool Serves(string ns) => Array.IndexOf(_description.Namespaces, ns) >= 0;

    public void Check(string ns)
    {
        if (!Serves(ns))
            throw new ArgumentException(
                $"Orleans stream namespace \"{ns}\" is not served by the platform stream provider \"{provider}\" (it serves: {Describe(_description.Namespaces)}); " +
                "events produced to it would never be delivered.", nameof(ns));
    }

    public static string Describe(IReadOnlyList<string> namespaces) => namespaces.Count == 0 ? "none" : string.Join(", ", namespaces);
}
