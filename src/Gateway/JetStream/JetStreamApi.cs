using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Platform.Grains.Cluster;
using Platform.Grains.Consumers;
using Platform.Grains.Node;
using Platform.Grains.Streams;
using Platform.Gateway.Routing;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>
/// The $JS.API request/reply surface: each request becomes grain calls and one JSON reply with nats-server's
/// shapes, error codes and texts. Unknown API subjects get no reply, as with nats-server.
/// </summary>
internal sealed partial class JetStreamApi(NatsServer server, StreamCapture capture, ConsumerApi consumers, ApiResponder responder, IGrainFactory grains,
    StreamStore store, NodeIdentity node, CatalogView catalog, ILogger<JetStreamApi> logger) : IInternalSubscriber
{
    private const string Prefix = "$JS.API.";

    private IStreamCatalogGrain Catalog => grains.GetGrain<IStreamCatalogGrain>(0);

    public async Task StartAsync()
    {
        var unknown = new List<string>();
        foreach (var config in await Catalog.List())
        {
            capture.Set(config);
            // What each stream stores counts towards max_file_store before the first publish is checked against it.
            // It comes from the state each log saved when it closed, without opening any log.
            if (!store.LoadUsage(config))
                unknown.Add(config.Name);
        }
        server.Router.Add(new Subscription(Prefix + ">", null, [], null, this));
        await consumers.StartAsync(await Catalog.List(), store);
        await StartSourcingAsync();
        server.Interceptor = capture;
        Started = true;
        if (unknown.Count > 0)
            _ = CountUnknownUsageAsync(unknown);
    }

    /// <summary>
    /// Streams with a mirror or sources copy from their origins on a timer of their grain: activating the grains at
    /// start resumes copying what the origins received while the silo was down, before anyone asks for them.
    /// </summary>
    private async Task StartSourcingAsync()
    {
        foreach (var config in await Catalog.List())
        {
            if (config.Mirror is null && config.Sources is not { Length: > 0 })
                continue;
            try
            {
                await grains.GetGrain<IStreamGrain>(config.Name).GetInfo(false, null);
            }
            catch (Exception ex)
            {
                logger.LogWarning("Stream {Stream} does not copy from its origins yet: {Reason}", config.Name, ex.Message);
            }
        }
    }

    /// <summary>
    /// The logs that were open when the silo stopped without closing them (a crash) saved no state: each must be
    /// read to count what it stores. That takes a while for many logs, so it runs after the API is up, one stream at a
    /// time; until a stream is counted (or used, which counts it too), max_file_store sees none of its bytes.
    /// </summary>
    private async Task CountUnknownUsageAsync(List<string> streams)
    {
        logger.LogInformation("Counting the stored bytes of {Count} streams whose logs were not closed cleanly", streams.Count);
        foreach (var name in streams)
        {
            try
            {
                await GetInfoAsync(name);
            }
            catch (Exception ex)
            {
                logger.LogWarning("Could not count the stored bytes of stream {Stream}: {Reason}", name, ex.Message);
            }
        }
        logger.LogInformation("Counted the stored bytes of {Count} streams", streams.Count);
    }

    /// <summary>Whether the stored streams and consumers are loaded and the API answers: what /healthz reports.</summary>
    public bool Started { get; private set; }

    public void OnMessage(Subscription subscription, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength,
        in ReadOnlySequence<byte> message, NatsClient? publisher)
    {
        // Only clients make API requests: a message the server itself delivers here (a push consumer's deliver
        // subject, a reply subject chosen by a client) is never run as one.
        if (reply.IsEmpty || publisher is null)
            return;
        var request = new ApiRequest(Encoding.UTF8.GetString(subject), Encoding.Latin1.GetString(reply), message.Slice(headerLength).ToArray(),
            TakeAcksFor(subject, publisher));
        _ = HandleAsync(request);
    }

    /// <summary>
    /// A worker's loop sends its acks and its next pull request in one write; the request carries those acks to the
    /// consumer, one grain call instead of two. Taken here, on the connection's read loop, which owns its ack batch.
    /// </summary>
    private AckOp[]? TakeAcksFor(ReadOnlySpan<byte> subject, NatsClient publisher)
    {
        if (publisher.Acks is not { IsEmpty: false } batch || !subject.StartsWith(PullPrefix))
            return null;
        return consumers.Find(subject[PullPrefix.Length..]) is { } consumer ? batch.Take(consumer) : null;
    }

    private static ReadOnlySpan<byte> PullPrefix => "$JS.API.CONSUMER.MSG.NEXT."u8;

    private async Task HandleAsync(ApiRequest request)
    {
        var tokens = request.Subject[Prefix.Length..].Split('.');
        try
        {
            responder.CountRequest();
            switch (tokens)
            {
                case ["INFO"]: await AccountInfo(request); break;
                case ["STREAM", "CREATE", var name]: await CreateOrUpdate(request, name, create: true); break;
                case ["STREAM", "UPDATE", var name]: await CreateOrUpdate(request, name, create: false); break;
                case ["STREAM", "INFO", var name]: await Info(request, name); break;
                case ["STREAM", "DELETE", var name]: await Delete(request, name); break;
                case ["STREAM", "NAMES"]: await ListStreams(request, withInfo: false); break;
                case ["STREAM", "LIST"]: await ListStreams(request, withInfo: true); break;
                case ["STREAM", "PURGE", var name]: await Purge(request, name); break;
                case ["STREAM", "MSG", "GET", var name]: await MessageGet(request, name); break;
                case ["STREAM", "MSG", "DELETE", var name]: await MessageDelete(request, name); break;
                case ["DIRECT", "GET", var name, ..]: await DirectGet(request, name, tokens.Length > 3 ? string.Join('.', tokens[3..]) : null); break;
                case ["CONSUMER", ..]: await consumers.HandleAsync(request, tokens); break;
                case ["ACCOUNT", "STREAM", "MOVE", var account, var name]: await Move(request, account, name); break;
                case ["ACCOUNT", "STREAM", "CANCEL_MOVE", var account, var name]: await CancelMove(request, account, name); break;
                default: responder.UncountRequest(); break;
            }
        }
        catch (Exception ex) when (StreamOfflineException.Is(ex) && ResponseType(tokens) is { } type)
        {
            responder.ReplyError(request, type, ApiError.StreamOffline);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "JetStream API request {Subject} failed", request.Subject);
        }
    }

    /// <summary>The type of the response to a request, for answers given outside its handler; null when it has none.</summary>
    private static string? ResponseType(string[] tokens) => tokens switch
    {
        ["CONSUMER", "CREATE" or "DURABLE", ..] => "consumer_create_response",
        ["CONSUMER", "PAUSE", ..] => "consumer_pause_response",
        ["CONSUMER", "UNPIN", ..] => "consumer_unpin_response",
        ["ACCOUNT", "STREAM", "MOVE" or "CANCEL_MOVE", ..] => StreamMoveResponse,
        ["STREAM", "MSG", "GET" or "DELETE", ..] => $"stream_msg_{tokens[2].ToLowerInvariant()}_response",
        ["STREAM", "CREATE" or "UPDATE" or "INFO" or "DELETE" or "PURGE" or "NAMES" or "LIST", ..]
            or ["CONSUMER", "INFO" or "DELETE" or "NAMES" or "LIST", ..] => $"{tokens[0].ToLowerInvariant()}_{tokens[1].ToLowerInvariant()}_response",
        _ => null,
    };

    private async Task AccountInfo(ApiRequest request)
    {
        var configs = await Catalog.List();
        ulong memory = 0, storage = 0;
        long consumers = 0;
        foreach (var config in configs)
        {
            // A stream whose home is away stores nothing this account can reach now.
            var info = await GetOnlineInfoAsync(config.Name);
            if (info?.Value is null) continue;
            if (config.Storage == StorageType.Memory) memory += info.Value.State.Bytes;
            else storage += info.Value.State.Bytes;
            consumers += info.Value.ConsumerCount;
        }
        responder.Reply(request, "account_info_response", w =>
        {
            w.WriteNumber("memory", memory);
            w.WriteNumber("storage", storage);
            w.WriteNumber("streams", configs.Length);
            w.WriteNumber("consumers", consumers);
            w.WriteStartObject("limits");
            foreach (var limit in new[] { "max_memory", "max_storage", "max_streams", "max_consumers", "max_ack_pending", "memory_max_stream_bytes", "storage_max_stream_bytes" })
                w.WriteNumber(limit, -1);
            w.WriteBoolean("max_bytes_required", false);
            w.WriteEndObject();
            w.WriteStartObject("api");
            w.WriteNumber("total", responder.Total);
            w.WriteNumber("errors", responder.Errors);
            w.WriteEndObject();
        });
    }

    private async Task CreateOrUpdate(ApiRequest request, string name, bool create)
    {
        var type = create ? "stream_create_response" : "stream_update_response";
        if (!ApiResponder.TryParse(request.Body, ApiJsonContext.Default.PlatformStreamConfig, out var config) || config is null)
        {
            responder.ReplyError(request, type, ApiError.InvalidJson);
            return;
        }
        if (config.Name != name)
        {
            responder.ReplyError(request, type, ApiError.StreamNameMismatch);
            return;
        }
        if (UnsupportedField(request.Body) is { } unsupported)
        {
            responder.ReplyError(request, type, ApiError.InvalidConfig(unsupported));
            return;
        }
        config = config.WithDefaults();
        var result = create ? await Catalog.Create(config) : await Catalog.Update(config);
        if (result.Error is { } error)
        {
            responder.ReplyError(request, type, error);
            return;
        }
        // As nats-server, a create answers before the mirror or sources have started: without their info blocks.
        var info = create ? result.Value! with { Mirror = null, Sources = null } : result.Value!;
        responder.Reply(request, type, w =>
        {
            WriteStreamInfo(w, info);
            if (create)
                w.WriteBoolean("did_create", true);
        });
    }

    /// <summary>Stream info, combined over the partitions of a partitioned stream.</summary>
    private Task<StreamResult<PlatformStreamInfo>> GetInfoAsync(string name, bool deletedDetails = false, string? subjectsFilter = null)
        => StreamInfoQuery.GetAsync(grains, name, deletedDetails, subjectsFilter);

    /// <summary>The partition a message request addresses: explicit, or by the subject it names, else partition 0.</summary>
    private IStreamGrain PartitionFor(string name, int? partition, string? subject)
    {
        int count = capture.Find(name)?.Partitions.Length ?? 1;
        int p = partition ?? (subject is { Length: > 0 } s && !s.Contains('*') && !s.Contains('>') ? StreamKeys.PartitionOf(s, count) : 0);
        return grains.GetGrain<IStreamGrain>(StreamKeys.Partition(name, Math.Clamp(p, 0, count - 1)));
    }

    private async Task Info(ApiRequest request, string name)
    {
        const string type = "stream_info_response";
        if (!responder.TryParseOptional(request, type, ApiJsonContext.Default.StreamInfoRequest, out var body))
            return;
        var result = await GetInfoAsync(name, body?.DeletedDetails ?? false, body?.SubjectsFilter);
        responder.Reply(request, type, w =>
        {
            // nats-server pages the subjects map: total counts subjects, in pages of 100000; a filter that matches no
            // subject gets no page at all (limit 0).
            bool paged = !string.IsNullOrEmpty(body?.SubjectsFilter) && result.Value?.Subjects is { Count: > 0 };
            w.WriteNumber("total", paged ? result.Value!.Subjects?.Count ?? 0 : 0);
            w.WriteNumber("offset", 0);
            w.WriteNumber("limit", paged ? 100_000 : 0);
            if (result.Error is { } error)
                ApiResponder.WriteError(w, error);
            else
                WriteStreamInfo(w, result.Value!);
        }, result.Error is not null);
    }

    private async Task Delete(ApiRequest request, string name)
    {
        const string type = "stream_delete_response";
        if (!await Catalog.Delete(name))
        {
            responder.ReplyError(request, type, ApiError.StreamNotFound);
            return;
        }
        responder.Reply(request, type, w => w.WriteBoolean("success", true));
    }

    /// <summary>
    /// STREAM.NAMES and STREAM.LIST: the same filter and paging, names or full infos (nats-server pages names by 1024
    /// and infos by 256). Its Go slices show through: an empty page of names is null, of infos [], and an invalid
    /// request still carries the zeroed paging fields next to the error.
    /// </summary>
    private async Task ListStreams(ApiRequest request, bool withInfo)
    {
        var type = withInfo ? "stream_list_response" : "stream_names_response";
        PagingBody? paging = new();
        if (request.Body.Length > 0 && (!ApiResponder.TryParse(request.Body, ApiJsonContext.Default.PagingBody, out paging) || paging is null))
        {
            responder.Reply(request, type, w =>
            {
                ApiResponder.WriteError(w, ApiError.InvalidJson);
                WritePage(w, withInfo, total: 0, offset: 0, limit: 0, names: [], infos: []);
            }, isError: true);
            return;
        }
        var names = new List<string>();
        var infos = new List<PlatformStreamInfo>();
        var missing = new List<string>();
        foreach (var config in await Catalog.List())
        {
            if (paging.Subject is not null && !CapturesAny(config, paging.Subject))
                continue;
            if (!withInfo)
                names.Add(config.Name);
            else if (await GetOnlineInfoAsync(config.Name) is not { } online)
                missing.Add(config.Name);
            else if (online.Value is { } info)
                infos.Add(info);
        }
        int limit = withInfo ? 256 : 1024;
        int offset = paging.Offset;
        responder.Reply(request, type, w =>
        {
            WritePage(w, withInfo, withInfo ? infos.Count : names.Count, offset, limit,
                names.Skip(offset).Take(limit).ToList(), infos.Skip(offset).Take(limit).ToList());
            // As nats-server lists the streams whose servers did not answer.
            if (missing.Count > 0)
            {
                w.WriteStartArray("missing");
                foreach (var name in missing)
                    w.WriteStringValue(name);
                w.WriteEndArray();
            }
        });
    }

    /// <summary>The stream's info, or null while a home of it is offline.</summary>
    private async Task<StreamResult<PlatformStreamInfo>?> GetOnlineInfoAsync(string name)
    {
        try
        {
            return await GetInfoAsync(name);
        }
        catch (Exception ex) when (StreamOfflineException.Is(ex))
        {
            return null;
        }
    }

    private void WritePage(Utf8JsonWriter w, bool withInfo, int total, int offset, int limit, List<string> names, List<PlatformStreamInfo> infos)
    {
        w.WriteNumber("total", total);
        w.WriteNumber("offset", offset);
        w.WriteNumber("limit", limit);
        if (withInfo)
        {
            w.WriteStartArray("streams");
            foreach (var info in infos)
            {
                w.WriteStartObject();
                WriteStreamInfo(w, info);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        else if (names.Count == 0)
        {
            w.WriteNull("streams");
        }
        else
        {
            w.WriteStartArray("streams");
            foreach (var name in names)
                w.WriteStringValue(name);
            w.WriteEndArray();
        }
    }

    private async Task Purge(ApiRequest request, string name)
    {
        const string type = "stream_purge_response";
        if (!responder.TryParseOptional(request, type, ApiJsonContext.Default.PurgeBody, out var body))
            return;
        var purge = new PurgeRequest(body?.Filter, body?.Sequence ?? 0, body?.Keep ?? 0);
        var result = await grains.GetGrain<IStreamGrain>(name).Purge(purge);
        // A partitioned stream purges every partition (a sequence bound applies to each partition's own sequence).
        int partitions = capture.Find(name)?.Partitions.Length ?? 1;
        for (int p = 1; p < partitions && result.Error is null; p++)
        {
            var part = await grains.GetGrain<IStreamGrain>(StreamKeys.Partition(name, p)).Purge(purge);
            result = part.Error is null ? StreamResult<ulong>.Ok(result.Value + part.Value) : part;
        }
        responder.Reply(request, type, w =>
        {
            if (result.Error is { } error)
            {
                ApiResponder.WriteError(w, error);
                w.WriteNumber("purged", 0);
            }
            else
            {
                w.WriteBoolean("success", true);
                w.WriteNumber("purged", result.Value);
            }
        }, result.Error is not null);
    }

    private async Task MessageGet(ApiRequest request, string name)
    {
        const string type = "stream_msg_get_response";
        if (!ApiResponder.TryParse(request.Body, ApiJsonContext.Default.MessageGetBody, out var body) || body is null)
        {
            responder.ReplyError(request, type, ApiError.InvalidJson);
            return;
        }
        var result = await PartitionFor(name, body.Partition, body.LastBySubject ?? body.NextBySubject)
            .GetMessage(new MessageQuery(body.Sequence, body.LastBySubject, body.NextBySubject));
        if (result.Error is { } error)
        {
            responder.ReplyError(request, type, error);
            return;
        }
        var msg = result.Value!;
        responder.Reply(request, type, w =>
        {
            w.WriteStartObject("message");
            w.WriteString("subject", msg.Subject);
            w.WriteNumber("seq", msg.Sequence);
            if (msg.Headers.Length > 0)
                w.WriteBase64String("hdrs", msg.Headers);
            if (msg.Payload.Length > 0)
                w.WriteBase64String("data", msg.Payload);
            w.WriteString("time", ApiJson.Time(msg.TimestampNanos));
            w.WriteEndObject();
        });
    }

    private async Task MessageDelete(ApiRequest request, string name)
    {
        const string type = "stream_msg_delete_response";
        if (!ApiResponder.TryParse(request.Body, ApiJsonContext.Default.MessageDeleteBody, out var body) || body is null)
        {
            responder.ReplyError(request, type, ApiError.InvalidJson);
            return;
        }
        var result = await PartitionFor(name, body.Partition, null).DeleteMessage(body.Sequence, body.NoErase);
        if (result.Error is { } error)
            responder.ReplyError(request, type, error);
        else
            responder.Reply(request, type, w => w.WriteBoolean("success", true));
    }

    /// <summary>DIRECT.GET replies with the stored message itself plus Nats-Stream/-Subject/-Sequence/-Time-Stamp headers.</summary>
    private async Task DirectGet(ApiRequest request, string name, string? subjectInToken)
    {
        if (capture.Find(name) is not { Config.AllowDirect: true })
            return;
        MessageQuery query;
        int? directPartition = null;
        if (subjectInToken is not null)
        {
            query = new MessageQuery(0, subjectInToken, null);
        }
        else if (request.Body.Length == 0)
        {
            responder.SendStatus(request.Reply, "408 Empty Request");
            return;
        }
        else if (!ApiResponder.TryParse(request.Body, ApiJsonContext.Default.MessageGetBody, out var body) || body is null)
        {
            responder.SendStatus(request.Reply, "408 Malformed Request");
            return;
        }
        else if (body.Sequence == 0 && string.IsNullOrEmpty(body.LastBySubject) && string.IsNullOrEmpty(body.NextBySubject))
        {
            // nats-server answers a request that asks for nothing as it answers no request at all.
            responder.SendStatus(request.Reply, "408 Empty Request");
            return;
        }
        else
        {
            query = new MessageQuery(body.Sequence, body.LastBySubject, body.NextBySubject);
            directPartition = body.Partition;
        }
        var result = await PartitionFor(name, directPartition, query.LastBySubject ?? query.NextBySubject).GetMessage(query);
        if (result.Value is not { } msg)
        {
            responder.SendStatus(request.Reply, result.Error?.ErrCode == ApiError.BadRequest.ErrCode ? "408 Bad Request" : "404 Message Not Found");
            return;
        }
        var headers = new StringBuilder();
        if (msg.Headers.Length > 0)
        {
            var original = Encoding.UTF8.GetString(msg.Headers);
            headers.Append(original.EndsWith("\r\n\r\n", StringComparison.Ordinal) ? original[..^2] : original);
        }
        else
        {
            headers.Append("NATS/1.0\r\n");
        }
        headers.Append("Nats-Stream: ").Append(name).Append("\r\n")
            .Append("Nats-Subject: ").Append(msg.Subject).Append("\r\n")
            .Append("Nats-Sequence: ").Append(msg.Sequence).Append("\r\n")
            .Append("Nats-Time-Stamp: ").Append(ApiJson.Time(msg.TimestampNanos)).Append("\r\n\r\n");
        var headerBytes = Encoding.UTF8.GetBytes(headers.ToString());
        var message = new byte[headerBytes.Length + msg.Payload.Length];
        headerBytes.CopyTo(message, 0);
        msg.Payload.CopyTo(message, headerBytes.Length);
        server.Deliver(Encoding.Latin1.GetBytes(request.Reply), default, headerBytes.Length, new ReadOnlySequence<byte>(message), null, null);
    }

    /// <summary>What the silo cannot honour is refused by name rather than created as a stream that silently ignores it.</summary>
    private static string? UnsupportedField(byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        if (UnknownFields.Find(document.RootElement, ApiJsonContext.Default.PlatformStreamConfig) is { } unknown)
            return $"stream configuration field \"{unknown}\" is not supported";
        return null;
    }

    private static bool CapturesAny(PlatformStreamConfig config, string subject)
    {
        foreach (var s in config.Subjects)
            if (Grains.Subjects.SubjectMatch.Overlaps(s, subject))
                return true;
        return false;
    }

    private void WriteStreamInfo(Utf8JsonWriter w, PlatformStreamInfo info)
    {
        WriteStreamConfig(w, info.Config);
        w.WriteString("created", ApiJson.Time(info.Created));
        WriteStreamState(w, info);
        // In a cluster, as nats-server: the cluster's name and the server that holds the stream (partition 0's home).
        if (node.IsCluster && catalog.TryGet(info.Config.Name, out var entry))
            ClusterInfoJson.Write(w, node.ClusterName, entry.HomeOf(0), info.Replicas);
        if (info.Mirror is { } mirror)
        {
            w.WritePropertyName("mirror");
            WriteSourceInfo(w, mirror);
        }
        if (info.Sources is { } sources)
        {
            w.WriteStartArray("sources");
            foreach (var source in sources)
                WriteSourceInfo(w, source);
            w.WriteEndArray();
        }
    }

    /// <summary>nats-server's info of a mirror or source: active is nanoseconds since the origin was last heard from, -1 never.</summary>
    private static void WriteSourceInfo(Utf8JsonWriter w, StreamSourceInfo info)
    {
        var source = info.Source;
        w.WriteStartObject();
        w.WriteString("name", source.Name);
        if (source.External is { } external)
        {
            w.WritePropertyName("external");
            JsonSerializer.Serialize(w, external, ApiJsonContext.Default.ExternalStreamConfig);
        }
        w.WriteNumber("lag", info.Lag);
        w.WriteNumber("active", info.Active is { } active ? active.Ticks * 100 : -1);
        if (!string.IsNullOrEmpty(source.FilterSubject))
            w.WriteString("filter_subject", source.FilterSubject);
        if (source.SubjectTransforms is { Length: > 0 } transforms)
        {
            w.WritePropertyName("subject_transforms");
            JsonSerializer.Serialize(w, transforms, ApiJsonContext.Default.SubjectTransformConfigArray);
        }
        if (info.Error is { } error)
            ApiResponder.WriteError(w, error);
        w.WriteEndObject();
    }

    internal static void WriteStreamConfig(Utf8JsonWriter w, PlatformStreamConfig config)
    {
        w.WritePropertyName("config");
        JsonSerializer.Serialize(w, config, ApiJsonContext.Default.PlatformStreamConfig);
    }

    /// <summary>The "state" object of stream info, shared with /jsz's stream details.</summary>
    internal static void WriteStreamState(Utf8JsonWriter w, PlatformStreamInfo info)
    {
        var s = info.State;
        w.WriteStartObject("state");
        w.WriteNumber("messages", s.Messages);
        w.WriteNumber("bytes", s.Bytes);
        // A stream that never held a message reports first_seq 0, as nats-server does.
        w.WriteNumber("first_seq", s.LastSequence == 0 && s.Messages == 0 ? 0 : s.FirstSequence);
        w.WriteString("first_ts", ApiJson.Time(s.Messages == 0 ? 0 : s.FirstTimestampNanos));
        w.WriteNumber("last_seq", s.LastSequence);
        w.WriteString("last_ts", ApiJson.Time(s.LastTimestampNanos));
        if (s.NumSubjects > 0)
            w.WriteNumber("num_subjects", s.NumSubjects);
        if (info.Subjects is { Count: > 0 } subjects)
        {
            w.WriteStartObject("subjects");
            foreach (var (subject, count) in subjects)
                w.WriteNumber(subject, count);
            w.WriteEndObject();
        }
        if (s.NumDeleted > 0)
            w.WriteNumber("num_deleted", s.NumDeleted);
        if (info.Deleted is { Length: > 0 } deleted)
        {
            w.WriteStartArray("deleted");
            foreach (var seq in deleted)
                w.WriteNumberValue(seq);
            w.WriteEndArray();
        }
        w.WriteNumber("consumer_count", info.ConsumerCount);
        w.WriteEndObject();
    }

}

internal sealed class StreamInfoRequest
{
    [JsonPropertyName("deleted_details")] public bool DeletedDetails { get; set; }
    [JsonPropertyName("subjects_filter")] public string? SubjectsFilter { get; set; }
}

internal sealed class PagingBody
{
    [JsonPropertyName("offset")] public int Offset { get; set; }
    [JsonPropertyName("subject")] public string? Subject { get; set; }
}

internal sealed class PurgeBody
{
    [JsonPropertyName("filter")] public string? Filter { get; set; }
    [JsonPropertyName("seq")] public ulong Sequence { get; set; }
    [JsonPropertyName("keep")] public ulong Keep { get; set; }
}

internal sealed class MessageGetBody
{
    [JsonPropertyName("seq")] public ulong Sequence { get; set; }
    [JsonPropertyName("last_by_subj")] public string? LastBySubject { get; set; }
    [JsonPropertyName("next_by_subj")] public string? NextBySubject { get; set; }
    /// <summary>Our extension for partitioned streams: which partition's sequence <see cref="Sequence"/> is.</summary>
    [JsonPropertyName("partition")] public int? Partition { get; set; }
}

internal sealed class MessageDeleteBody
{
    [JsonPropertyName("seq")] public ulong Sequence { get; set; }
    [JsonPropertyName("no_erase")] public bool NoErase { get; set; }
    [JsonPropertyName("partition")] public int? Partition { get; set; }
}

[JsonSerializable(typeof(PlatformStreamConfig))]
[JsonSerializable(typeof(ExternalStreamConfig))]
[JsonSerializable(typeof(SubjectTransformConfig[]))]
[JsonSerializable(typeof(StreamInfoRequest))]
[JsonSerializable(typeof(PagingBody))]
[JsonSerializable(typeof(StreamMoveBody))]
[JsonSerializable(typeof(PurgeBody))]
[JsonSerializable(typeof(MessageGetBody))]
[JsonSerializable(typeof(MessageDeleteBody))]
[JsonSerializable(typeof(Platform.Grains.Consumers.PlatformConsumerConfig))]
[JsonSerializable(typeof(CreateConsumerBody))]
[JsonSerializable(typeof(ConsumerPauseBody))]
[JsonSerializable(typeof(ConsumerUnpinBody))]
[JsonSerializable(typeof(PullRequestBody))]
[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowReadingFromString)]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
