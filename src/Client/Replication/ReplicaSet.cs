namespace Platform.Grains.Replication;

/// <summary>
/// The copies of a replicated stream other than its primary (the catalog's home of partition 0), as the catalog keeps
/// them: the nodes and the data ids their copies were made on, which of them are in sync, and the epoch. Every change
/// of primary or of the in-sync set takes the next epoch through the catalog's conditional write, and replicas refuse
/// batches of an older epoch: that, not Orleans' directory, is what fences a primary that was replaced.
/// </summary>
/// <remarks>
/// An acknowledged message is on the primary and on every in-sync replica, and in-sync members with the primary are
/// always at least a quorum: so any in-sync replica may be promoted without losing an ack.
/// </remarks>
[GenerateSerializer, Immutable, Alias("platform.ReplicaSet")]
public sealed record ReplicaSet(
    [property: Id(0)] long Epoch,
    [property: Id(1)] string[] Nodes,
    [property: Id(2)] string[] DataIds,
    [property: Id(3)] string[] InSync)
{
    /// <summary>How many copies (the primary's included) must hold a message before it is acknowledged.</summary>
    public int Quorum => (Nodes.Length + 1) / 2 + 1;

    public bool IsInSync(string node) => Array.IndexOf(InSync, node) >= 0;

    public string? DataIdOf(string node)
    {
        int i = Array.IndexOf(Nodes, node);
        return i < 0 ? null : DataIds[i];
    }
}
