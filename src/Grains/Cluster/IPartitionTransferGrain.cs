using Orleans.Concurrency;

namespace Platform.Grains.Cluster;

/// <summary>
/// The files of stream partitions on one silo's store, as a stream move copies them from the old home to the new one.
/// Keyed by the silo's address (<see cref="SiloPinnedPlacement"/>). The partition's grain keeps its log closed while
/// they are read, so what is copied is the log exactly: every record with its subject, headers, timestamp and
/// sequence, the deleted gaps, the recovery checkpoint and, with partition 0, the consumers' state.
/// </summary>
[Alias("platform.IPartitionTransferGrain")]
internal interface IPartitionTransferGrain : IGrainWithStringKey
{
    /// <summary>The partition's files on this silo, as paths relative to the stream's directory.</summary>
    [Alias("Files")] Task<string[]> Files(string stream, int partition);

    /// <summary>Up to <paramref name="max"/> bytes of one of those files from <paramref name="offset"/>; fewer only at its end.</summary>
    [Alias("Read")] Task<Immutable<byte[]>> Read(string stream, string file, long offset, int max);

    /// <summary>
    /// Copies the partition's files from the silo <paramref name="source"/> into this silo's store, replacing any
    /// left there before, and returns once they are on disk (fsynced). Returns the bytes copied.
    /// </summary>
    [Alias("CopyFrom")] Task<long> CopyFrom(string source, string stream, int partition);

    /// <summary>Removes the partition's files here (a move's old copy once the catalog switched, or a failed copy).</summary>
    [Alias("Remove")] Task Remove(string stream, int partition);

    /// <summary>
    /// Moves what this silo's store holds under a stream's name out of the streams (to <c>streams.orphaned</c>, never
    /// deleted) before a new stream of that name is made here: a copy kept by a node that was down when the stream was
    /// deleted would otherwise be opened as the new stream's data. Returns where it went, or null when there was none.
    /// </summary>
    [Alias("PutAside")] Task<string?> PutAside(string stream);
}
