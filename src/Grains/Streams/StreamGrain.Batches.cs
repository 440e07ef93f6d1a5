using System.Text;
using Microsoft.Extensions.Logging;
using Platform.Grains.Storage;

namespace Platform.Grains.Streams;

/// <summary>
/// 2.12's atomic batch publish (ADR-50): messages with Nats-Batch-Id and Nats-Batch-Sequence are staged until the one
/// with Nats-Batch-Commit, then checked together and appended as one (<see cref="IMessageLog.BeginAtomic"/>), so
/// readers and a crash see all of them or none. Checks, their order and errors follow nats-server's
/// processJetStreamAtomicBatchMsg.
/// </summary>
internal sealed partial class StreamGrain
{
    private Dictionary<string, AtomicBatch>? _batches;
    private IGrainTimer? _batchTimer;
    private IStreamAdvisories? _advisories;
    private static readonly TimeSpan BatchSweepPeriod = TimeSpan.FromSeconds(1);

    private PublishAck AppendBatchMessage(IMessageLog log, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, int frameOffset)
    {
        var batch = new BatchHeaders(headers);
        if (batch.Id.IsEmpty)
            return AppendOne(log, subject, headers, payload, frameOffset);
        var config = _config!;
        if (config.Sealed)
            return Refuse(ApiError.StreamSealed);
        long serverLimit = store.Limits.For(config.Storage);
        if (serverLimit >= 0 && store.Usage.For(config.Storage) > serverLimit)
            return Refuse(ApiError.InsufficientResources);
        if (config.MaxMsgSize >= 0 && headers.Length + payload.Length > config.MaxMsgSize)
            return Refuse(ApiError.MessageTooLarge);
        if (!config.AllowAtomic)
            return Refuse(ApiError.AtomicPublishDisabled);
        if (batch.Id.Length > 64)
            return Refuse(ApiError.AtomicPublishInvalidBatchId);
        if (batch.Sequence is not { } sequence)
            return Refuse(ApiError.AtomicPublishMissingSequence);

        bool endOfBatch = batch.CommitsByEndOfBatch;
        long now = Environment.TickCount64 * TimeSpan.TicksPerMillisecond;
        _batches ??= new Dictionary<string, AtomicBatch>(StringComparer.Ordinal);
        DropExpiredBatches(now);
        var id = Encoding.UTF8.GetString(batch.Id);
        if (!_batches.TryGetValue(id, out var staged))
        {
            // Not begun here (or dropped already): a later message of it cannot complete it.
            if (sequence != 1)
                return Refuse(sequence - (endOfBatch ? 1UL : 0UL) > AtomicBatch.MaxSize
                    ? ApiError.AtomicPublishTooLarge(AtomicBatch.MaxSize)
                    : ApiError.AtomicPublishIncomplete);
            if (_batches.Count + 1 > AtomicBatch.MaxInflightPerStream || !AtomicBatch.TryOpen())
                return Refuse(ApiError.AtomicPublishTooManyInflight);
            _batches[id] = staged = new AtomicBatch(now);
            // Abandoned batches are dropped by the timer too, not only when another batch message arrives.
            _batchTimer ??= this.RegisterGrainTimer(static (self, _) =>
            {
                self.DropExpiredBatches(Environment.TickCount64 * TimeSpan.TicksPerMillisecond);
                return Task.CompletedTask;
            }, this, new GrainTimerCreationOptions { DueTime = BatchSweepPeriod, Period = BatchSweepPeriod, KeepAlive = false });
        }
        if (!batch.CommitValid)
        {
            CloseBatch(id);
            return Refuse(ApiError.AtomicPublishInvalidCommit);
        }
        staged.LastSequence++;
        staged.LastActivity = now;
        if (staged.LastSequence != sequence || (sequence == 1 && endOfBatch))
        {
            Abandon(id, "incomplete");
            return Refuse(ApiError.AtomicPublishIncomplete);
        }
        if (sequence - (endOfBatch ? 1UL : 0UL) > AtomicBatch.MaxSize)
        {
            Abandon(id, "large");
            return Refuse(ApiError.AtomicPublishTooLarge(AtomicBatch.MaxSize));
        }
        if (!endOfBatch)
            staged.Messages.Add(new StagedMessage(subject.ToArray(), headers.ToArray(), payload.ToArray()));
        if (!batch.HasCommit)
            return PublishAck.StagedIn(id);

        CloseBatch(id);
        var messages = staged.Messages;
        // Committed by an end-of-batch message, which is not stored: the last stored one carries the commit instead,
        // as nats-server stores it.
        if (endOfBatch)
            messages[^1] = messages[^1] with { Headers = WithCommitHeader(messages[^1].Headers) };
        return CommitBatch(log, id, messages);
    }

    /// <summary>Checks every message of the batch against the stream as it will be when the ones before it are stored, then stores them as one.</summary>
    private PublishAck CommitBatch(IMessageLog log, string id, List<StagedMessage> messages)
    {
        if (CheckBatch(log, messages) is { } refused)
            return Refuse(refused);
        ulong last = 0;
        using (log.BeginAtomic(messages.Count))
        {
            foreach (var message in messages)
            {
                var ack = AppendOne(log, message.Subject, message.Headers, message.Payload, -1);
                // The checks above make this unreachable; should one be missed, the messages stored so far stay stored
                // and the publisher is told, rather than acked for a batch that is not whole.
                if (ack.Error is { } error)
                {
                    logger.LogError("Stream {Stream}: atomic batch {Batch} stored only in part: {Reason}", Key, id, error.Description);
                    return Refuse(error);
                }
                last = ack.Sequence;
            }
        }
        return new PublishAck(last, false, null, null, id, (ulong)messages.Count);
    }

    /// <summary>
    /// Everything <see cref="AppendOne"/> could refuse, for the whole batch before any of it is stored, with the
    /// batch's own rules: no Nats-Expected-Last-Msg-Id, no msg id twice or already stored, an expected last sequence
    /// on the first message only. Each message's sequence is known in advance: the batch takes the next ones in order.
    /// </summary>
    private ApiError? CheckBatch(IMessageLog log, List<StagedMessage> messages)
    {
        var config = _config!;
        var state = log.State;
        HashSet<string>? msgIds = null;
        Dictionary<string, (ulong Last, ulong Count)>? inBatch = null;
        ulong bytes = state.Bytes;
        ExpireMsgIds((DateTime.UtcNow.Ticks - UnixEpochTicks) * 100);
        for (int i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            ReadOnlySpan<byte> subject = message.Subject, headers = message.Headers, payload = message.Payload;
            var hdr = new PublishHeaders(headers);
            if (!hdr.ExpectedLastMsgId.IsEmpty)
                return ApiError.AtomicPublishUnsupportedHeader("Nats-Expected-Last-Msg-Id");
            if (_subjects!.Check(subject) is { } foreign)
                return foreign;
            if (config.MaxMsgSize >= 0 && message.Size > config.MaxMsgSize)
                return ApiError.MessageTooLarge;
            if (!hdr.Incr.IsEmpty || config.AllowMsgCounter)
            {
                if (CountIncrement(log, subject, headers, hdr, payload, out _, out _, out _) is { } counterError)
                    return counterError;
            }
            if (!hdr.MsgId.IsEmpty)
            {
                var msgId = Encoding.UTF8.GetString(hdr.MsgId);
                if (!(msgIds ??= new HashSet<string>(StringComparer.Ordinal)).Add(msgId) || _msgIds.ContainsKey(msgId))
                    return ApiError.AtomicPublishDuplicateMessage;
            }
            if (!hdr.ExpectedStream.IsEmpty && !hdr.ExpectedStream.SequenceEqual(Encoding.UTF8.GetBytes(config.Name)))
                return ApiError.ExpectedStreamMismatch;
            if (!hdr.Ttl.IsEmpty)
            {
                if (!MessageTtl.TryParse(hdr.Ttl, out long ttl))
                    return ApiError.MessageTtlInvalid;
                if (ttl != 0 && !config.AllowMsgTtl)
                    return ApiError.MessageTtlDisabled;
            }
            ulong before = state.LastSequence + (ulong)i;
            if (hdr.ExpectedLastSequence is { } expectedLast)
            {
                if (expectedLast != before)
                    return ApiError.WrongLastSequence(before);
                if (i > 0)
                    return ApiError.WrongLastSequenceConstant;
            }
            var subjectText = Encoding.UTF8.GetString(subject);
            inBatch ??= new Dictionary<string, (ulong, ulong)>(StringComparer.Ordinal);
            inBatch.TryGetValue(subjectText, out var earlier);
            if (hdr.ExpectedLastSubjectSequence is { } expectedSubjectLast)
            {
                ulong lastOfSubject = earlier.Count > 0 ? earlier.Last : log.GetSubjectState(subjectText).Last;
                if (expectedSubjectLast != lastOfSubject)
                    return ApiError.WrongLastSequence(lastOfSubject);
            }
            bool rollupAll = false, rollupSubject = false;
            if (!hdr.Rollup.IsEmpty)
            {
                if (!config.AllowRollupHeaders)
                    return ApiError.RollupNotPermitted;
                rollupSubject = hdr.Rollup.SequenceEqual("sub"u8);
                rollupAll = hdr.Rollup.SequenceEqual("all"u8);
                if (!rollupSubject && !rollupAll)
                    return new ApiError(500, 10111, $"rollup value invalid: {Encoding.UTF8.GetString(hdr.Rollup)}");
            }
            if (config.Discard == DiscardPolicy.New && !rollupAll)
            {
                if (config.MaxMsgs > 0 && state.Messages + (ulong)i >= (ulong)config.MaxMsgs)
                    return ApiError.StoreFailed("maximum messages exceeded");
                bytes += config.Storage == StorageType.Memory
                    ? RecordCodec.MemoryStoredSize(subject.Length, headers.Length, payload.Length)
                    : StoredSize(subject.Length, headers.Length, payload.Length);
                if (config.MaxBytes > 0 && bytes > (ulong)config.MaxBytes)
                    return ApiError.StoreFailed("maximum bytes exceeded");
                if (config.MaxMsgsPerSubject > 0 && config.DiscardNewPerSubject && !rollupSubject
                    && log.GetSubjectState(subjectText).Count + earlier.Count >= (ulong)config.MaxMsgsPerSubject)
                    return ApiError.StoreFailed("maximum messages per subject exceeded");
            }
            inBatch[subjectText] = (before + 1, earlier.Count + 1);
        }
        return null;
    }

    /// <summary>Drops batches that received nothing for the timeout (nats-server's inactivity timer, checked as batches arrive).</summary>
    private void DropExpiredBatches(long now)
    {
        if (_batches is null || _batches.Count == 0)
        {
            _batchTimer?.Dispose();
            _batchTimer = null;
            return;
        }
        List<string>? expired = null;
        foreach (var (id, batch) in _batches)
            if (batch.Expired(now))
                (expired ??= []).Add(id);
        if (expired is null)
            return;
        foreach (var id in expired)
            Abandon(id, "timeout");
    }

    /// <summary>Drops a batch and says why on nats-server's advisory (nats-server's reasons: timeout, large, incomplete).</summary>
    private void Abandon(string id, string reason)
    {
        CloseBatch(id);
        _advisories ??= ServiceProvider.GetService(typeof(IStreamAdvisories)) as IStreamAdvisories;
        _advisories?.BatchAbandoned(Name, id, reason);
    }

    private void CloseBatch(string id)
    {
        if (_batches!.Remove(id))
            AtomicBatch.Closed(1);
    }

    /// <summary>Drops every open batch (atomic publish turned off, the stream deleted, the grain deactivated).</summary>
    private void CloseAllBatches()
    {
        if (_batches is null)
            return;
        AtomicBatch.Closed(_batches.Count);
        _batches = null;
    }

    /// <summary>The headers with <c>Nats-Batch-Commit: 1</c> added at the end, as nats-server's genHeader adds it.</summary>
    private static byte[] WithCommitHeader(byte[] headers)
    {
        var line = "Nats-Batch-Commit: 1\r\n"u8;
        // A block ends with an empty line; the new header goes before it.
        int end = headers.Length >= 2 && headers.AsSpan(headers.Length - 2).SequenceEqual("\r\n"u8) ? headers.Length - 2 : headers.Length;
        var result = new byte[headers.Length + line.Length];
        headers.AsSpan(0, end).CopyTo(result);
        line.CopyTo(result.AsSpan(end));
        headers.AsSpan(end).CopyTo(result.AsSpan(end + line.Length));
        return result;
    }

    private static PublishAck Refuse(ApiError error) => new(0, false, error);
}
