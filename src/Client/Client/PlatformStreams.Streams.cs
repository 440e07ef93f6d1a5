using Platform.Grains.Streams;
using Platform.Grains.Subjects;

namespace Platform.Grains.Client;

/// <summary>Stream management and message access: what <c>$JS.API.STREAM.*</c> offers NATS clients.</summary>
public sealed partial class PlatformStreams
{
    /// <summary>The stream's configuration and state; a partitioned stream's counts add up over its partitions.</summary>
    /// <exception cref="PlatformStreamException">No such stream (10059).</exception>
    public async Task<PlatformStreamInfo> GetStreamInfoAsync(string stream, bool deletedDetails = false, string? subjectsFilter = null)
        => Value(await StreamInfoQuery.GetAsync(grains, stream, deletedDetails, subjectsFilter));

    /// <summary>The configurations of every stream of the cluster.</summary>
    public Task<PlatformStreamConfig[]> ListStreamsAsync() => grains.GetGrain<IStreamCatalogGrain>(0).List();

    /// <summary>Changes a stream's configuration, with nats-server's rules on what may change (through the catalog).</summary>
    /// <exception cref="PlatformStreamException">Refused, e.g. no such stream (10059) or a change that is not allowed (10052).</exception>
    public async Task<PlatformStreamInfo> UpdateStreamAsync(PlatformStreamConfig config) =>
        Value(await grains.GetGrain<IStreamCatalogGrain>(0).Update(config.WithDefaults()));

    /// <summary>Deletes a stream with its messages and consumers; false when there was no such stream.</summary>
    public Task<bool> DeleteStreamAsync(string stream) => grains.GetGrain<IStreamCatalogGrain>(0).Delete(stream);

    /// <summary>
    /// Removes messages: all, those on subjects matching <paramref name="filter"/>, those below
    /// <paramref name="upToSequence"/> (exclusive), or all but the last <paramref name="keep"/>, as nats-server's purge.
    /// A partitioned stream purges every partition (a sequence bound applies to each partition's own sequence).
    /// </summary>
    /// <returns>How many messages were removed.</returns>
    /// <exception cref="PlatformStreamException">Refused, e.g. no such stream (10059) or deny_purge (10110).</exception>
    public async Task<ulong> PurgeStreamAsync(string stream, string? filter = null, ulong upToSequence = 0, ulong keep = 0)
    {
        var request = new PurgeRequest(filter, upToSequence, keep);
        ulong purged = Value(await grains.GetGrain<IStreamGrain>(stream).Purge(request));
        int partitions = (await StreamLayouts.GetAsync(grains, stream)).Partitions;
        for (int p = 1; p < partitions; p++)
            purged += Value(await grains.GetGrain<IStreamGrain>(StreamKeys.Partition(stream, p)).Purge(request));
        return purged;
    }

    /// <summary>The message stored at <paramref name="sequence"/> (of <paramref name="partition"/>, for a partitioned stream).</summary>
    /// <exception cref="PlatformStreamException">No such message (10037) or stream (10059).</exception>
    public async Task<StreamMessage> GetMessageAsync(string stream, ulong sequence, int partition = 0) =>
        ToMessage(stream, Value(await grains.GetGrain<IStreamGrain>(StreamKeys.Partition(stream, partition))
            .GetMessage(new MessageQuery(sequence, null, null))));

    /// <summary>The last message stored on <paramref name="subject"/> (a literal subject, or a pattern on an unpartitioned stream).</summary>
    /// <exception cref="PlatformStreamException">No such message (10037) or stream (10059).</exception>
    public async Task<StreamMessage> GetLastMessageAsync(string stream, string subject)
    {
        int partitions = (await StreamLayouts.GetAsync(grains, stream)).Partitions;
        int partition = partitions > 1 && !SubjectMatch.HasWildcards(subject) ? StreamKeys.PartitionOf(subject, partitions) : 0;
        return ToMessage(stream, Value(await grains.GetGrain<IStreamGrain>(StreamKeys.Partition(stream, partition))
            .GetMessage(new MessageQuery(0, subject, null))));
    }

    /// <summary>Deletes one message; with <paramref name="erase"/> its bytes are overwritten too (nats-server's default for MSG.DELETE).</summary>
    /// <exception cref="PlatformStreamException">Refused: no such message (10043 within the stream, 10057 outside a file stream's, as nats-server), no such stream (10059), deny_delete (10057).</exception>
    public async Task DeleteMessageAsync(string stream, ulong sequence, bool erase = false, int partition = 0) =>
        Value(await grains.GetGrain<IStreamGrain>(StreamKeys.Partition(stream, partition)).DeleteMessage(sequence, noErase: !erase));

    private static StreamMessage ToMessage(string stream, StoredMessage stored) => new(
        stream, stored.Subject, stored.Sequence, DateTime.UnixEpoch.AddTicks(stored.TimestampNanos / 100),
        DecodeHeaders(stored.Headers), stored.Payload);

    private static T Value<T>(StreamResult<T> result) =>
        result.Error is { } error ? throw new PlatformStreamException(error) : result.Value!;
}
