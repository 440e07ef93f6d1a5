namespace Platform.Grains.Cluster;

/// <summary>
/// The node that holds a stream partition's data is not in the cluster now (or holds other data than the catalog's),
/// so the partition cannot activate anywhere: nats-server's 10118 "stream is offline".
/// </summary>
[GenerateSerializer, Alias("platform.StreamOfflineException")]
public sealed class StreamOfflineException : Exception
{
    public StreamOfflineException(string stream, string reason, bool misplaced = false) : base($"Stream {stream} is offline: {reason}")
    {
        Stream = stream;
        Misplaced = misplaced;
    }

    [Id(0)]
    public string Stream { get; }

    /// <summary>
    /// The call reached an activation on a node that is not the stream's home, and that activation refused it before
    /// running it: the caller's silo had the grain located where it lived before (<see cref="MisplacedCallRetry"/>).
    /// </summary>
    [Id(1)]
    public bool Misplaced { get; }

    /// <summary>
    /// Whether a failed call means the stream is offline: placement refused it, or the call went to the home's
    /// activation just as the home died, before this silo's membership view dropped it.
    /// </summary>
    public static bool Is(Exception exception) => exception is StreamOfflineException or SiloUnavailableException;
}
