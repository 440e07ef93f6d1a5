using Orleans.Concurrency;

namespace Platform.Grains.Streams;

/// <summary>
/// One stream partition: its log, limits and publish checks. Keyed by stream name (partition 0).
/// Callers go through <see cref="IStreamCatalogGrain"/> for create, update and delete, which keeps subjects disjoint.
/// </summary>
[Alias("platform.IStreamGrain")]
public interface IStreamGrain : IGrainWithStringKey
{
    [Alias("Create")] Task<StreamResult<StreamInfo>> Create(StreamConfig config);
    [Alias("Update")] Task<StreamResult<StreamInfo>> Update(StreamConfig config);
    [Alias("Delete")] Task<bool> Delete();
    [Alias("Info")] Task<StreamResult<StreamInfo>> GetInfo(bool deletedDetails, string? subjectsFilter);

    /// <summary>Appends a batch framed by <see cref="PublishFrames"/>; returns one ack per message, in order.</summary>
    [Alias("Append")] Task<Immutable<PublishAck[]>> Append(Immutable<byte[]> frames, int length, int count);

    [Alias("GetMessage")] Task<StreamResult<StoredMessage>> GetMessage(MessageQuery query);
    [Alias("DeleteMessage")] Task<StreamResult<bool>> DeleteMessage(ulong sequence, bool noErase);
    [Alias("Purge")] Task<StreamResult<ulong>> Purge(PurgeRequest request);
}
