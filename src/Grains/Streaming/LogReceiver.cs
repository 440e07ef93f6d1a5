using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging;
using Orleans.Streams;
using Platform.Grains.Client;
using Platform.Grains.Storage;
using Platform.Grains.Streams;

namespace Platform.Grains.Streaming;

/// <summary>
/// Reads one partition of a platform stream in sequence order from its checkpoint. The checkpoint (last sequence delivered, i.e.
/// purged from the cache once every cursor passed it) is a small file written atomically, so after a restart the
/// receiver resumes right after what was delivered: at-least-once, nothing skipped.
/// </summary>
internal sealed class LogReceiver(QueuePartition queue, IGrainFactory grains, ProviderStreams streams, ProviderFailureHandler failures, string checkpointPath,
    int batchSize, ILogger<LogReceiver> logger)
    : IQueueAdapterReceiver
{
    private ulong _next = 1;

    public async Task Initialize(TimeSpan timeout)
    {
        if (File.Exists(checkpointPath) && ulong.TryParse(await File.ReadAllTextAsync(checkpointPath), out var delivered))
            _next = delivered + 1;
        try
        {
            await streams.EnsureAsync(queue.Namespace);
        }
        catch (Exception ex)
        {
            // Not fatal: reading an absent stream returns nothing, and a produce creates it later.
            logger.LogWarning(ex, "Could not create platform stream {Stream} for Orleans streams", queue.Namespace);
        }
    }

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount)
    {
        int count = maxCount <= 0 ? batchSize : Math.Min(maxCount, batchSize);
        var read = (await grains.GetGrain<IStreamGrain>(queue.Key).Read(_next, count, 0, [])).Value;
        var batch = new List<IBatchContainer>(read.Count);
        int offset = 0;
        for (int i = 0; i < read.Count; i++)
        {
            StreamRead.ReadFrame(read.Frames, ref offset, out var sequence, out var record);
            batch.Add(ToContainer(queue.Namespace, sequence, record, failures));
            _next = sequence + 1;
        }
        return batch;
    }

    public static LogBatchContainer ToContainer(string ns, ulong sequence, ReadOnlySpan<byte> record, ProviderFailureHandler failures)
    {
        var headers = PlatformStreams.DecodeHeaders(RecordCodec.GetHeaders(record));
        return new LogBatchContainer
        {
            StreamId = LogQueueMapper.StreamOf(ns, Encoding.UTF8.GetString(RecordCodec.GetSubject(record))),
            Sequence = sequence,
            TypeName = headers.TryGetValue(EventCodec.TypeHeader, out var type) ? type : null,
            Payload = RecordCodec.GetPayload(record).ToArray(),
            Provider = failures.Provider,
            Failures = failures,
        };
    }

    /// <summary>Called with what the cache purged, oldest first: everything up to the last one was delivered.</summary>
    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages)
    {
        if (messages.Count == 0)
            return Task.CompletedTask;
        ulong delivered = ((LogBatchContainer)messages[^1]).Sequence;
        AtomicFile.Write(checkpointPath, s => s.Write(Encoding.ASCII.GetBytes(delivered.ToString())));
        return Task.CompletedTask;
    }

    public Task Shutdown(TimeSpan timeout) => Task.CompletedTask;
}
