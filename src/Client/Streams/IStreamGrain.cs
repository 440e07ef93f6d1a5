using Orleans.Concurrency;

namespace Platform.Grains.Streams;

/// <summary>
/// One stream partition: its log, limits and publish checks. Keyed by stream name (partition 0).
/// Callers go through <see cref="IStreamCatalogGrain"/> for create, update and delete, which keeps subjects disjoint.
/// </summary>
[Alias("platform.IStreamGrain")]
public interface IStreamGrain : IGrainWithStringKey
{
    [Alias("Create")] Task<StreamResult<PlatformStreamInfo>> Create(PlatformStreamConfig config);
    [Alias("Update")] Task<StreamResult<PlatformStreamInfo>> Update(PlatformStreamConfig config);
    [Alias("Delete")] Task<bool> Delete();
    [Alias("Info"), AlwaysInterleave] Task<StreamResult<PlatformStreamInfo>> GetInfo(bool deletedDetails, string? subjectsFilter);

    /// <summary>Appends a batch framed by <see cref="PublishFrames"/>; returns one ack per message, in order.</summary>
    [Alias("Append")] Task<Immutable<PublishAck[]>> Append(Immutable<byte[]> frames, int length, int count);

    /// <summary>
    /// <see cref="Append"/> for a caller that keeps several batches on the way, with the same acks: the batches of one
    /// publisher are stored in the order of <paramref name="order"/> whatever order they arrive in (a batch that comes
    /// early waits briefly for those before it). Only storing a batch takes the stream's turn: on a replicated stream
    /// the wait for the replicas does not, so several batches are on their way to the replicas at once. It costs one
    /// more local call than <see cref="Append"/>.
    /// </summary>
    [Alias("AppendPipelined"), AlwaysInterleave] Task<Immutable<PublishAck[]>> AppendPipelined(Immutable<byte[]> frames, int length, int count, BatchOrder order);

    [Alias("GetMessage")] Task<StreamResult<StoredMessage>> GetMessage(MessageQuery query);
    [Alias("DeleteMessage")] Task<StreamResult<bool>> DeleteMessage(ulong sequence, bool noErase);
    [Alias("Purge")] Task<StreamResult<ulong>> Purge(PurgeRequest request);

    /// <summary>
    /// Reads for a consumer: records from <paramref name="fromSequence"/> matching any filter (none: all), with the
    /// count of those still pending after them (<see cref="StreamRead.Pending"/>).
    /// </summary>
    [Alias("Read"), AlwaysInterleave] Task<Immutable<StreamRead>> Read(ulong fromSequence, int maxCount, long maxBytes, string[] filters);

    /// <summary>Reads the given sequences (those still stored), in order.</summary>
    [Alias("ReadAt"), AlwaysInterleave] Task<Immutable<StreamRead>> ReadAt(ulong[] sequences);

    /// <summary>How many stored messages matching the filters have a sequence at or after <paramref name="fromSequence"/>.</summary>
    [Alias("CountPending"), AlwaysInterleave] Task<ulong> CountPending(ulong fromSequence, string[] filters);

    /// <summary>The last sequence of every subject matching the filters, ascending (deliver policy last_per_subject).</summary>
    [Alias("LastPerSubject"), AlwaysInterleave] Task<ulong[]> LastPerSubject(string[] filters);

    /// <summary>The first sequence stored at or after the time (deliver policy by_start_time).</summary>
    [Alias("SequenceAt"), AlwaysInterleave] Task<ulong> SequenceAtTime(DateTime time);

    [Alias("AddConsumer")] Task<StreamResult<Consumers.PlatformConsumerInfo>> AddConsumer(Consumers.PlatformConsumerConfig config);
    /// <summary>Workqueue and interest streams: a consumer acknowledged these messages for the first time.</summary>
    [Alias("Acked")] Task Acked(string consumer, ulong[] sequences);

    /// <summary>
    /// A move to another node starts: the log closes and stays closed (publishes get an error ack, other requests
    /// "stream is offline") until <see cref="EndMove"/>. Refused for memory streams.
    /// </summary>
    [Alias("BeginMove")] Task<StreamResult<bool>> BeginMove();

    /// <summary>The move is over: moved, this activation goes (the catalog names the new home); else the log opens again here.</summary>
    [Alias("EndMove")] Task EndMove(bool moved);

    [Alias("RemoveConsumer"), AlwaysInterleave] Task<bool> RemoveConsumer(string name);
    [Alias("Consumers"), AlwaysInterleave] Task<string[]> ConsumerNames();
}
