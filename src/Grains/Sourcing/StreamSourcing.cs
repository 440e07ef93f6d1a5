using System.Buffers;
using System.Text;
using Platform.Grains.Cluster;
using Platform.Grains.Storage;
using Platform.Grains.Streams;

namespace Platform.Grains.Sourcing;

/// <summary>
/// A stream's mirror or sources: reads what is new in each origin (through the origin's stream grain, as a consumer
/// reads) for the stream grain to store. A mirror stores each message under its origin sequence and time; a source
/// appends it as a publish would, with the Nats-Stream-Source header that lets the stream find, after a restart,
/// where each source left off (its newest such header), so nothing is copied twice or skipped.
/// </summary>
internal sealed class StreamSourcing
{
    /// <summary>
    /// Messages one read takes from an origin, so a stream grain turn stays short. Not bounded by bytes: a message
    /// larger than the bound would stop the copy for good.
    /// </summary>
    public const int BatchSize = 128;

    private readonly SourceCursor[] _cursors;

    private StreamSourcing(SourceCursor[] cursors, bool mirror, bool recovered)
    {
        _cursors = cursors;
        IsMirror = mirror;
        Recovered = recovered;
    }

    public bool IsMirror { get; }

    /// <summary>Whether the sources' progress was read back from the stream's messages in this activation.</summary>
    public bool Recovered { get; private set; }

    public IReadOnlyList<SourceCursor> Cursors => _cursors;

    /// <summary>The sourcing of a configuration, or null without mirror and sources; sources kept by an update keep their progress.</summary>
    public static StreamSourcing? For(PlatformStreamConfig config, StreamSourcing? previous)
    {
        if (config.Mirror is { } mirror)
            return new StreamSourcing([SourceCursor.For(mirror, previous?.Find(mirror.IndexName))], mirror: true, previous?.Recovered ?? false);
        if (config.Sources is not { Length: > 0 } sources)
            return null;
        var cursors = new SourceCursor[sources.Length];
        for (int i = 0; i < sources.Length; i++)
            cursors[i] = SourceCursor.For(sources[i], previous?.Find(sources[i].IndexName));
        return new StreamSourcing(cursors, mirror: false, previous?.Recovered ?? false);
    }

    private SourceCursor? Find(string indexName)
    {
        foreach (var cursor in _cursors)
            if (cursor.IndexName == indexName)
                return cursor;
        return null;
    }

    public StreamSourceInfo? MirrorInfo() => IsMirror ? _cursors[0].Info() : null;

    public StreamSourceInfo[]? SourceInfos()
    {
        if (IsMirror)
            return null;
        var infos = new StreamSourceInfo[_cursors.Length];
        for (int i = 0; i < infos.Length; i++)
            infos[i] = _cursors[i].Info();
        return infos;
    }

    /// <summary>
    /// Finds where each source left off from the newest Nats-Stream-Source header of it in the log, reading back from
    /// the end until every source is found (as nats-server does when a stream starts). A mirror needs none of this:
    /// its last sequence is its origin's.
    /// </summary>
    public void Recover(IMessageLog log)
    {
        Recovered = true;
        if (IsMirror)
            return;
        int missing = 0;
        foreach (var cursor in _cursors)
            if (cursor.Next == 0) missing++;
        var state = log.State;
        for (ulong seq = state.LastSequence; missing > 0 && seq >= state.FirstSequence && seq > 0; seq--)
        {
            if (!log.TryGet(seq, out var record) || !SourceHeader.TryRead(record.Headers, out var name, out var originSequence))
                continue;
            foreach (var cursor in _cursors)
            {
                if (cursor.Next == 0 && cursor.IndexName == name)
                {
                    cursor.Next = originSequence + 1;
                    missing--;
                }
            }
        }
    }

    /// <summary>
    /// Reads what the origin has from the cursor on; null when the origin does not exist (yet). For a mirror,
    /// <paramref name="storedLast"/> (the mirror's last sequence, which is its origin's) is where it continues.
    /// </summary>
    public async Task<StreamRead?> ReadAsync(SourceCursor cursor, IGrainFactory grains, CatalogView catalog, ulong storedLast)
    {
        if (!catalog.TryGet(cursor.Config.Name, out _))
        {
            cursor.Failed(ApiError.StreamNotFound);
            return null;
        }
        var origin = grains.GetGrain<IStreamGrain>(cursor.Config.Name);
        if (cursor.Next == 0)
            cursor.Next = await StartAsync(cursor.Config, origin);
        if (IsMirror)
            cursor.Next = Math.Max(cursor.Next, storedLast + 1);
        var read = (await origin.Read(cursor.Next, BatchSize, 0, cursor.Filters)).Value;
        cursor.Contacted(read.Pending);
        return read;
    }

    private static async Task<ulong> StartAsync(StreamSourceConfig config, IStreamGrain origin)
    {
        if (config.OptStartSeq > 0)
            return config.OptStartSeq;
        if (config.OptStartTime is { } time)
            return Math.Max(1, await origin.SequenceAtTime(time));
        return 1;
    }

    /// <summary>
    /// Frames what a source read for the stream's append, as a publish batch: each message under its mapped subject,
    /// its headers with Nats-Stream-Source added.
    /// </summary>
    public static (byte[] Frames, int Length) FrameSourced(SourceCursor cursor, StreamRead read)
    {
        var frames = new ArrayBufferWriter<byte>(read.Length + read.Count * (PublishFrames.FrameHeaderSize + 32 + cursor.IndexNameBytes.Length));
        var headers = new ArrayBufferWriter<byte>(256);
        var buffer = read.Frames.AsSpan(0, read.Length);
        int offset = 0;
        for (int i = 0; i < read.Count; i++)
        {
            StreamRead.ReadFrame(buffer, ref offset, out ulong sequence, out var record);
            var subject = cursor.MapSubject(RecordCodec.GetSubject(record));
            var payload = RecordCodec.GetPayload(record);
            headers.ResetWrittenCount();
            SourceHeader.Write(RecordCodec.GetHeaders(record), cursor.IndexNameBytes, sequence, headers);
            var frame = frames.GetSpan(PublishFrames.FrameSize(subject.Length, headers.WrittenCount, payload.Length));
            PublishFrames.WriteHeader(frame, subject.Length, headers.WrittenCount, payload.Length);
            int p = PublishFrames.FrameHeaderSize;
            subject.CopyTo(frame[p..]);
            p += subject.Length;
            headers.WrittenSpan.CopyTo(frame[p..]);
            p += headers.WrittenCount;
            payload.CopyTo(frame[p..]);
            frames.Advance(p + payload.Length);
        }
        // ArrayBufferWriter's array is its own; the stream grain copies nothing it keeps from it.
        return (frames.WrittenMemory.ToArray(), frames.WrittenCount);
    }

    /// <summary>Each message's subject in its origin, before the source's transforms (a counter stream keys totals by it).</summary>
    public static string[] OriginSubjects(StreamRead read)
    {
        var subjects = new string[read.Count];
        var buffer = read.Frames.AsSpan(0, read.Length);
        int offset = 0;
        for (int i = 0; i < read.Count; i++)
        {
            StreamRead.ReadFrame(buffer, ref offset, out _, out var record);
            subjects[i] = Encoding.UTF8.GetString(RecordCodec.GetSubject(record));
        }
        return subjects;
    }
}
