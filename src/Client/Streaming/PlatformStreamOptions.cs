namespace Platform.Grains.Streaming;

/// <summary>
/// Options of an Orleans stream provider over the platform's streams (see <see cref="PlatformStreamsHosting"/>).
/// </summary>
/// <remarks>
/// Mapping: the Orleans stream <c>StreamId(namespace, key)</c> is the subject <c>&lt;namespace&gt;.&lt;key&gt;</c> in the
/// platform stream named <c>&lt;namespace&gt;</c> (subjects <c>&lt;namespace&gt;.&gt;</c>). Each namespace listed in
/// <see cref="Namespaces"/> is one Orleans queue, read in stream-sequence order by one receiver; the sequence token of
/// every event is <c>EventSequenceTokenV2(stream sequence)</c>, so a subscription can be resumed at any retained
/// sequence.
/// </remarks>
public sealed class PlatformStreamOptions
{
    /// <summary>The Orleans stream namespaces (= platform stream names) this provider carries. Namespaces must be valid
    /// stream names: no '.', '*', '>' or whitespace.</summary>
    public List<string> Namespaces { get; } = [];

    /// <summary>
    /// Orleans queues per namespace (1 to 64): the namespace's platform stream has this many partitions, each read by
    /// its own queue (pulling agent), so one namespace can use several cores or silos. An Orleans stream is one subject,
    /// which always hashes to the same partition, so its events stay in order. An existing stream must have as many
    /// partitions.
    /// </summary>
    public int QueuesPerNamespace { get; set; } = 1;

    /// <summary>Create the platform stream <c>&lt;namespace&gt;</c> (subjects <c>&lt;namespace&gt;.&gt;</c>, <see cref="QueuesPerNamespace"/> partitions) when it does not exist.</summary>
    public bool CreateStreams { get; set; } = true;

    /// <summary>
    /// A platform stream that receives a copy of each event a subscriber could not read as its type (on subject
    /// <c>&lt;DeadLetterStream&gt;.&lt;namespace&gt;</c>, with headers saying where it came from and why); none by default,
    /// then such events are only logged. Created like the namespaces' streams when <see cref="CreateStreams"/> is on.
    /// </summary>
    public string? DeadLetterStream { get; set; }

    /// <summary>Records a receiver reads from a stream per poll, and the most a cursor reads from the log at once.</summary>
    public int ReadBatchSize { get; set; } = 256;

    /// <summary>Records held for checkpointing before the cache reports pressure and the receiver stops reading.</summary>
    public int MaxCachedRecords { get; set; } = 16_384;

    /// <summary>
    /// How long a record nobody has a cursor on stays before it counts as delivered. The pulling agent finds a stream's
    /// subscribers asynchronously after the record arrives; this covers that lookup so a restart does not skip it.
    /// </summary>
    public TimeSpan UnclaimedGrace { get; set; } = TimeSpan.FromSeconds(5);
}
