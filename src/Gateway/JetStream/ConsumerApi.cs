using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Platform.Grains.Cluster;
using Platform.Grains.Consumers;
using Platform.Grains.Node;
using Platform.Grains.Streams;
using Platform.Gateway.Routing;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>A consumer as the gateway knows it: its grain, its delivery writer and, for push consumers, the pump.</summary>
internal sealed class ConsumerHandle(IConsumerGrain grain, DeliveryWriter writer, PlatformConsumerConfig config)
{
    public IConsumerGrain Grain { get; } = grain;
    public DeliveryWriter Writer { get; } = writer;
    public PlatformConsumerConfig Config { get; set; } = config;
    public PushDelivery? Push { get; set; }
    // The task of the newest push loop: a replacement waits for it.
    public Task PushLoop { get; set; } = Task.CompletedTask;
    public int Waiting;
}

/// <summary>
/// The CONSUMER part of the $JS.API (create, info, names, list, delete, MSG.NEXT), the registry of consumers the
/// gateway serves, and the receivers of acks and flow-control replies.
/// </summary>
internal sealed class ConsumerApi(NatsServer server, ApiResponder responder, Advisories advisories, IGrainFactory grains, PushConsumers pushConsumers,
    PinEvents pinEvents, CatalogView catalog, NodeIdentity node, ILogger<ConsumerApi> logger) : IInternalSubscriber, PushConsumers.IHost
{
    private readonly ConcurrentDictionary<string, ConsumerHandle> _consumers = new(StringComparer.Ordinal);
    private ConcurrentDictionary<string, ConsumerHandle>.AlternateLookup<ReadOnlySpan<char>> Lookup => _consumers.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>
    /// Registers the ack and flow-control receivers, runs push delivery for the push consumers active on this silo,
    /// and activates the consumers stored here, so those that survived a restart deliver again.
    /// </summary>
    public async Task StartAsync(PlatformStreamConfig[] streams, StreamStore store)
    {
        server.Router.Add(new Subscription("$JS.ACK.>", null, [], null, new AckCollector(this, advisories)));
        server.Router.Add(new Subscription("$JS.FC.>", null, [], null, this));
        pushConsumers.Attach(this);
        pinEvents.Attach(advisories);
        foreach (var stream in streams)
        {
            // From the store rather than the stream grain: a start activates no stream (thousands would each load).
            foreach (var name in ConsumerStore.Names(store, stream.Name))
            {
                var grain = grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream.Name, name));
                if (await grain.GetConfig() is { } config)
                    Register(stream.Name, name, config);
            }
        }
    }

    public int Count => _consumers.Count;

    public ConsumerHandle? Find(ReadOnlySpan<byte> streamDotConsumer)
    {
        Span<char> key = stackalloc char[streamDotConsumer.Length];
        Encoding.Latin1.GetChars(streamDotConsumer, key);
        return Lookup.TryGetValue(key, out var handle) ? handle : null;
    }

    public async Task HandleAsync(ApiRequest request, string[] tokens)
    {
        switch (tokens)
        {
            case ["CONSUMER", "CREATE", var stream]: await Create(request, stream, null, null, legacyDurable: false); break;
            case ["CONSUMER", "CREATE", var stream, var name]: await Create(request, stream, name, null, legacyDurable: false); break;
            case ["CONSUMER", "CREATE", var stream, var name, ..]:
                await Create(request, stream, name, string.Join('.', tokens[4..]), legacyDurable: false);
                break;
            case ["CONSUMER", "DURABLE", "CREATE", var stream, var name]: await Create(request, stream, name, null, legacyDurable: true); break;
            case ["CONSUMER", "INFO", var stream, var name]: await Info(request, stream, name); break;
            case ["CONSUMER", "DELETE", var stream, var name]: await Delete(request, stream, name); break;
            case ["CONSUMER", "PAUSE", var stream, var name]: await Pause(request, stream, name); break;
            case ["CONSUMER", "UNPIN", var stream, var name]: await Unpin(request, stream, name); break;
            case ["CONSUMER", "NAMES", var stream]: await Names(request, stream, withInfo: false); break;
            case ["CONSUMER", "LIST", var stream]: await Names(request, stream, withInfo: true); break;
            case ["CONSUMER", "MSG", "NEXT", var stream, var name]:
                // nats-server's consumers take pull requests on their own subscription, outside the API dispatcher,
                // so they are not API requests in account info or /jsz (api.total).
                responder.UncountRequest();
                await Next(request, stream, name);
                break;
            default: responder.UncountRequest(); break;
        }
    }

    private async Task Create(ApiRequest request, string stream, string? name, string? filter, bool legacyDurable)
    {
        const string type = "consumer_create_response";
        // A name in the subject is checked for path separators before anything else, as nats-server does.
        if (name is not null && NameRules.HasPathSeparators(name))
        {
            responder.ReplyError(request, type, NameRules.ConsumerPathSeparators);
            return;
        }
        if (!ApiResponder.TryParse(request.Body, ApiJsonContext.Default.CreateConsumerBody, out var body) || body?.Config is null
            || body.Action is not (null or "" or "create" or "update"))
        {
            responder.ReplyError(request, type, ApiError.InvalidJson);
            return;
        }
        if (UnknownConfigField(request.Body) is { } unknown)
        {
            responder.ReplyError(request, type, ApiError.InvalidConfig($"consumer configuration field \"{unknown}\" is not supported"));
            return;
        }
        if (body.StreamName is { Length: > 0 } bodyStream && bodyStream != stream)
        {
            responder.ReplyError(request, type, ApiError.StreamNameMismatch);
            return;
        }
        var config = body.Config;
        if (name is not null)
        {
            var given = config.DurableName ?? config.Name;
            if (given is not null && given != name)
            {
                responder.ReplyError(request, type, new ApiError(400, 10017, "consumer name in subject does not match durable name in request"));
                return;
            }
            config = legacyDurable || config.DurableName is not null ? config with { DurableName = name } : config with { Name = name };
        }
        if (filter is not null && config.FilterSubjects is { Length: > 0 })
        {
            responder.ReplyError(request, type, ApiError.ConsumerMultipleFiltersNotAllowed);
            return;
        }
        if (filter is not null && config.FilterSubject != filter)
        {
            responder.ReplyError(request, type, new ApiError(400, 10131, "Consumer create request did not match filtered subject from create subject"));
            return;
        }
        if (config.Name is null && config.DurableName is null)
            config = config with { Name = NewEphemeralName() };
        if (config.PauseUntil is { } pauseUntil)
            config = config with { PauseUntil = pauseUntil.ToUniversalTime() };
        var limits = catalog.TryGet(stream, out var entry) ? entry.Config.ConsumerLimits : null;
        config = config.WithDefaults(limits);
        if (limits is { MaxAckPending: > 0 } && config.MaxAckPending > limits.MaxAckPending)
        {
            responder.ReplyError(request, type, ApiError.ConsumerMaxAckPendingExcess(limits.MaxAckPending));
            return;
        }
        if (limits is { InactiveThreshold: > 0 } && config.InactiveThreshold > limits.InactiveThreshold)
        {
            responder.ReplyError(request, type, ApiError.ConsumerInactiveThresholdExcess(GoDuration(limits.InactiveThreshold)));
            return;
        }
        // Refused before any grain is asked about the name.
        if (NameRules.CheckConsumer(config.Name) is { } badName)
        {
            responder.ReplyError(request, type, badName);
            return;
        }
        // 2.10's action field: "create" must not change an existing consumer, "update" must not make a new one.
        if (body.Action is "create" or "update")
        {
            var existing = await grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, config.Name!)).GetConfig();
            // An existing consumer keeps its pause whatever the request says, so the pause is no difference.
            if (body.Action == "create" && existing is not null && !existing.SameAs(config with { PauseUntil = existing.PauseUntil }))
            {
                responder.ReplyError(request, type, ApiError.ConsumerAlreadyExists);
                return;
            }
            if (body.Action == "update" && existing is null)
            {
                responder.ReplyError(request, type, ApiError.ConsumerDoesNotExist);
                return;
            }
        }
        var result = await grains.GetGrain<IStreamGrain>(stream).AddConsumer(config);
        if (result.Error is { } error)
        {
            responder.ReplyError(request, type, error);
            return;
        }
        var info = result.Value!;
        Register(stream, info.Name, info.Config);
        responder.Reply(request, type, w => WriteInfo(w, info));
        // As nats-server: a consumer made or updated while paused announces the pause.
        if (info.Config.PauseRemaining(DateTime.UtcNow) > TimeSpan.Zero)
            Paused(stream, info.Name, info.Config.PauseUntil);
    }

    /// <summary>
    /// 2.11's CONSUMER.PAUSE: <c>{"pause_until": time}</c> pauses until then, no body or a zero time resumes; answered
    /// with the pause as it now is.
    /// </summary>
    private async Task Pause(ApiRequest request, string stream, string name)
    {
        const string type = "consumer_pause_response";
        ConsumerPauseBody? body = null;
        // nats-server reads the body only when it is a JSON object (or array); anything else resumes.
        if (request.Body.AsSpan().TrimStart(" \t\r\n"u8) is [(byte)'{' or (byte)'[', ..]
            && !ApiResponder.TryParse(request.Body, ApiJsonContext.Default.ConsumerPauseBody, out body))
        {
            responder.ReplyError(request, type, ApiError.InvalidJson);
            return;
        }
        DateTime? until = body?.PauseUntil is { Ticks: > 0 } given ? given.ToUniversalTime() : null;
        PlatformConsumerConfig? config;
        try
        {
            config = await grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, name)).Pause(until);
        }
        catch (IOException ex)
        {
            responder.ReplyError(request, type, new ApiError(500, 10104, "error creating store for consumer: " + ex.Message));
            return;
        }
        if (config is null)
        {
            var streamInfo = await grains.GetGrain<IStreamGrain>(stream).GetInfo(false, null);
            responder.ReplyError(request, type, streamInfo.Error is null ? ConsumerNotFound : ApiError.StreamNotFound);
            return;
        }
        Register(stream, name, config);
        var remaining = config.PauseRemaining(DateTime.UtcNow);
        responder.Reply(request, type, w =>
        {
            w.WriteBoolean("paused", remaining > TimeSpan.Zero);
            w.WriteString("pause_until", until is { } time ? ApiJson.Time(time) : ApiJson.Time(0));
            if (remaining > TimeSpan.Zero)
                w.WriteNumber("pause_remaining", ApiJson.Nanos(remaining));
        });
        Paused(stream, name, until);
        if (remaining > TimeSpan.Zero)
            _ = AnnounceResumeAsync(stream, name, until!.Value, remaining);
    }

    /// <summary>
    /// 2.11's CONSUMER.UNPIN: <c>{"group": name}</c> frees the pin of a pinned_client consumer, so the next pull
    /// request in the group is pinned; checked in nats-server's order, the body before the stream and consumer.
    /// </summary>
    private async Task Unpin(ApiRequest request, string stream, string name)
    {
        const string type = "consumer_unpin_response";
        if (!ApiResponder.TryParse(request.Body, ApiJsonContext.Default.ConsumerUnpinBody, out var body) || body is null)
        {
            responder.ReplyError(request, type, ApiError.InvalidJson);
            return;
        }
        if (string.IsNullOrEmpty(body.Group))
        {
            responder.ReplyError(request, type, ApiError.UnpinGroupMissing);
            return;
        }
        if (!ConsumerRules.IsGroupName(body.Group))
        {
            responder.ReplyError(request, type, ApiError.ConsumerInvalidGroupName);
            return;
        }
        var outcome = await grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, name)).Unpin(body.Group);
        if (outcome == UnpinOutcome.NoSuchConsumer)
        {
            var streamInfo = await grains.GetGrain<IStreamGrain>(stream).GetInfo(false, null);
            responder.ReplyError(request, type, streamInfo.Error is null ? ConsumerNotFound : ApiError.StreamNotFound);
            return;
        }
        if (outcome == UnpinOutcome.NoSuchGroup)
        {
            responder.ReplyError(request, type, ApiError.ConsumerInvalidPriorityGroup);
            return;
        }
        responder.Reply(request, type, static _ => { });
    }

    private void Paused(string stream, string name, DateTime? until)
        => advisories.Paused(stream, name, until is { } time && time > DateTime.UtcNow, until);

    /// <summary>The advisory nats-server sends when a pause runs out, unless the pause was changed meanwhile.</summary>
    private async Task AnnounceResumeAsync(string stream, string name, DateTime until, TimeSpan remaining)
    {
        try
        {
            await Task.Delay(remaining);
            var config = await grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, name)).GetConfig();
            // Said as over, not worked out from the clock: the delay may end a moment before the wall clock passes it.
            if (config?.PauseUntil == until)
                advisories.Paused(stream, name, false, until);
        }
        catch (Exception ex)
        {
            logger.LogDebug("Resume advisory for {Stream}/{Consumer} not sent: {Reason}", stream, name, ex.Message);
        }
    }

    /// <summary>
    /// Applies an ack for a consumer this gateway does not serve, if the consumer exists, and registers it for the acks
    /// that follow. Answers an AckSync once it is durable.
    /// </summary>
    public async Task AckUnservedAsync(string streamDotConsumer, AckOp op, string? reply)
    {
        int dot = streamDotConsumer.IndexOf('.');
        if (dot <= 0)
            return;
        var (stream, name) = (streamDotConsumer[..dot], streamDotConsumer[(dot + 1)..]);
        try
        {
            var grain = grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, name));
            if (await grain.GetConfig() is not { } config)
                return;
            Register(stream, name, config);
            await grain.Ack(new Immutable<AckOp[]>([op]), durable: reply is not null);
            if (reply is not null)
                server.Deliver(Encoding.Latin1.GetBytes(reply), default, 0, ReadOnlySequence<byte>.Empty, null, null);
        }
        catch (Exception ex)
        {
            // Not answered: the message is redelivered after ack_wait, as with an ack that never arrived.
            logger.LogDebug("Ack for consumer {Stream}/{Consumer} failed: {Reason}", stream, name, ex.Message);
        }
    }

    /// <summary>Knows the consumer from now on (for acks, pull requests and info); push delivery is not started here.</summary>
    private ConsumerHandle Register(string stream, string name, PlatformConsumerConfig config)
    {
        var key = stream + "." + name;
        var handle = _consumers.AddOrUpdate(key,
            _ => new ConsumerHandle(grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, name)), new DeliveryWriter(server, advisories, stream, name, config.HeadersOnly, config.MaxDeliver), config),
            (_, existing) =>
            {
                existing.Config = config;
                return existing;
            });
        return handle;
    }

    /// <summary>A push consumer's grain is active on this silo (made, restored or updated): its one delivery loop runs here.</summary>
    public void Started(string stream, string consumer, PlatformConsumerConfig config)
    {
        var handle = Register(stream, consumer, config);
        lock (handle)
        {
            if (handle.Push is { } running)
            {
                // A pause or resume is the grain's business: the loop goes on.
                if (running.Config with { PauseUntil = null } == config with { PauseUntil = null })
                    return;
                running.Stop();
            }
            var push = new PushDelivery(server, responder, handle.Grain, handle.Writer, config, logger);
            handle.Push = push;
            // A stopped loop still writes the batch it fetched: the new one starts after it, or it would deliver the
            // next batch first (a test updating a push consumer while it delivered saw 256 messages come late).
            handle.PushLoop = RunPushAsync(stream + "." + consumer, handle, push, handle.PushLoop);
        }
    }

    /// <summary>The grain went (deleted, or deactivated with its silo or its stream's move): so does its loop.</summary>
    public void Stopped(string stream, string consumer)
    {
        if (!_consumers.TryGetValue(stream + "." + consumer, out var handle))
            return;
        lock (handle)
        {
            handle.Push?.Stop();
            handle.Push = null;
        }
    }

    public void FlowControlAnswered(string stream, string consumer, string subject)
    {
        if (_consumers.TryGetValue(stream + "." + consumer, out var handle))
            handle.Push?.FlowControlAnswered(subject);
    }

    private async Task RunPushAsync(string key, ConsumerHandle handle, PushDelivery push, Task previous)
    {
        await Task.Yield();
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        bool gone = await push.RunAsync();
        lock (handle)
        {
            if (handle.Push == push)
                handle.Push = null;
        }
        // The grain said the consumer is gone (deleted, or removed after inactive_threshold).
        if (gone)
            _consumers.TryRemove(new KeyValuePair<string, ConsumerHandle>(key, handle));
    }

    private static string NewEphemeralName()
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        Span<char> name = stackalloc char[22];
        for (int i = 0; i < name.Length; i++)
            name[i] = alphabet[Random.Shared.Next(alphabet.Length)];
        return new string(name);
    }

    private async Task Info(ApiRequest request, string stream, string name)
    {
        const string type = "consumer_info_response";
        var info = await grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, name)).Info();
        if (info is null)
        {
            var streamInfo = await grains.GetGrain<IStreamGrain>(stream).GetInfo(false, null);
            responder.ReplyError(request, type, streamInfo.Error is null ? ConsumerNotFound : ApiError.StreamNotFound);
            return;
        }
        responder.Reply(request, type, w => WriteInfo(w, info));
    }

    private static readonly ApiError ConsumerNotFound = new(404, 10014, "consumer not found");

    private async Task Delete(ApiRequest request, string stream, string name)
    {
        const string type = "consumer_delete_response";
        if (!await grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, name)).Delete())
        {
            var streamInfo = await grains.GetGrain<IStreamGrain>(stream).GetInfo(false, null);
            responder.ReplyError(request, type, streamInfo.Error is null ? ConsumerNotFound : ApiError.StreamNotFound);
            return;
        }
        if (_consumers.TryRemove(stream + "." + name, out var handle))
            handle.Push?.Stop();
        responder.Reply(request, type, w => w.WriteBoolean("success", true));
    }

    private async Task Names(ApiRequest request, string stream, bool withInfo)
    {
        var type = withInfo ? "consumer_list_response" : "consumer_names_response";
        var streamInfo = await grains.GetGrain<IStreamGrain>(stream).GetInfo(false, null);
        if (streamInfo.Error is { } error)
        {
            responder.ReplyError(request, type, error);
            return;
        }
        int offset = 0;
        if (request.Body.Length > 0 && ApiResponder.TryParse(request.Body, ApiJsonContext.Default.PagingBody, out var paging) && paging is not null)
            offset = paging.Offset;
        var names = await grains.GetGrain<IStreamGrain>(stream).ConsumerNames();
        var infos = new List<PlatformConsumerInfo>();
        if (withInfo)
        {
            foreach (var name in names)
                if (await grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, name)).Info() is { } info)
                    infos.Add(info);
        }
        int limit = withInfo ? 256 : 1024;
        responder.Reply(request, type, w =>
        {
            w.WriteNumber("total", names.Length);
            w.WriteNumber("offset", offset);
            w.WriteNumber("limit", limit);
            w.WriteStartArray("consumers");
            if (withInfo)
            {
                foreach (var info in infos.Skip(offset).Take(limit))
                {
                    w.WriteStartObject();
                    WriteInfo(w, info);
                    w.WriteEndObject();
                }
            }
            else
            {
                foreach (var name in names.Skip(offset).Take(limit))
                    w.WriteStringValue(name);
            }
            w.WriteEndArray();
        });
    }

    private async Task Next(ApiRequest request, string stream, string name)
    {
        if (!_consumers.TryGetValue(stream + "." + name, out var handle))
        {
            // Not served from this gateway yet (e.g. created before a restart): look it up once.
            var grain = grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, name));
            if (await grain.GetConfig() is not { } config)
                return; // nats-server sends no reply for a consumer that does not exist
            handle = Register(stream, name, config);
        }
        StartPull(handle, request.Reply, request.Body, request.Acks ?? []);
    }

    /// <summary>
    /// Validates a pull request against the consumer's limits and serves it in the background. The
    /// <paramref name="acks"/> it carries are applied whether it is served or refused.
    /// </summary>
    public void StartPull(ConsumerHandle handle, string reply, byte[] requestBody, AckOp[] acks)
    {
        if (Refusal(handle, requestBody, out var body) is { } status)
        {
            if (acks.Length > 0)
                _ = handle.Grain.Ack(new Immutable<AckOp[]>(acks), durable: false);
            responder.SendStatus(reply, status);
            return;
        }
        _ = ServePullAsync(handle, reply, body!, acks);
    }

    /// <summary>The status a pull request is refused with (nats-server's texts), or null with its parsed body.</summary>
    private static string? Refusal(ConsumerHandle handle, byte[] requestBody, out PullRequestBody? body)
    {
        var config = handle.Config;
        body = null;
        if (config.IsPush)
            return "409 Consumer is push based";
        body = PullRequestBody.Parse(requestBody);
        if (body is null)
            return "400 Bad Request";
        if (config.MaxBatch > 0 && body.Batch > config.MaxBatch)
            return $"409 Exceeded MaxRequestBatch of {config.MaxBatch}";
        if (config.MaxExpires > 0 && body.Expires > config.MaxExpires)
            return $"409 Exceeded MaxRequestExpires of {GoDuration(config.MaxExpires)}";
        if (config.MaxBytes > 0 && body.MaxBytes > config.MaxBytes)
            return $"409 Exceeded MaxRequestMaxBytes of {config.MaxBytes}";
        if (body.IsJson && PriorityRefusal(config, body) is { } priority)
            return priority;
        if (config.MaxWaiting > 0 && Volatile.Read(ref handle.Waiting) >= config.MaxWaiting)
            return "409 Exceeded MaxWaiting";
        return null;
    }

    /// <summary>nats-server 2.11's checks of a pull request's priority group fields, in its order.</summary>
    private static string? PriorityRefusal(PlatformConsumerConfig config, PullRequestBody body)
    {
        if ((body.MinPending != 0 || body.MinAckPending != 0) && config.PriorityPolicy != PriorityPolicy.Overflow)
            return "400 Bad Request - Not a Overflow Priority consumer";
        if (!string.IsNullOrEmpty(body.PinId) && config.PriorityPolicy != PriorityPolicy.PinnedClient)
            return "400 Bad Request - Not a Pinned Client Priority consumer";
        if (body.Priority is < 0 or > 9)
            return "400 Bad Request - Priority must be between 0 and 9";
        if (config.PriorityPolicy == PriorityPolicy.None)
            return null;
        if (string.IsNullOrEmpty(body.Group))
            return "400 Bad Request - Priority Group missing";
        if (Array.IndexOf(config.PriorityGroups ?? [], body.Group) < 0)
            return "400 Bad Request - Invalid Priority Group";
        return null;
    }

    private async Task ServePullAsync(ConsumerHandle handle, string reply, PullRequestBody body, AckOp[] acks)
    {
        Interlocked.Increment(ref handle.Waiting);
        try
        {
            await new PullRequest(server, responder, handle.Grain, handle.Writer, reply, body,
                handle.Config.ReplayPolicy == ReplayPolicy.Original, acks).ServeAsync();
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Pull request on {Stream}/{Consumer} failed", handle.Writer.Stream, handle.Writer.Consumer);
        }
        finally
        {
            Interlocked.Decrement(ref handle.Waiting);
        }
    }

    /// <summary>Flow-control replies: an empty publish to the $JS.FC subject the server sent.</summary>
    public void OnMessage(Subscription subscription, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength,
        in ReadOnlySequence<byte> message, NatsClient? publisher)
    {
        if (publisher is null)
            return;
        var text = Encoding.UTF8.GetString(subject);
        foreach (var handle in _consumers.Values)
        {
            if (handle.Push is { } push && text.StartsWith(push.FlowControlPrefix, StringComparison.Ordinal))
            {
                push.FlowControlAnswered(text);
                return;
            }
        }
        // $JS.FC.<stream>.<consumer>.<n>: the loop runs on another silo, where the consumer's grain is.
        var tokens = text.Split('.');
        if (tokens.Length == 5)
            _ = ForwardFlowControlAsync(tokens[2], tokens[3], text);
    }

    private async Task ForwardFlowControlAsync(string stream, string consumer, string subject)
    {
        try
        {
            await grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, consumer)).FlowControlAnswered(subject);
        }
        catch (Exception ex)
        {
            // The loop asks again with its next heartbeat; the client answers that one.
            logger.LogDebug("Flow control reply for {Stream}/{Consumer} not passed on: {Reason}", stream, consumer, ex.Message);
        }
    }

    private void WriteInfo(Utf8JsonWriter w, PlatformConsumerInfo info) => WriteInfo(w, info, includeConfig: true);

    /// <summary>Consumer info in nats-server's shape; /jsz leaves the config out unless asked for it.</summary>
    internal void WriteInfo(Utf8JsonWriter w, PlatformConsumerInfo info, bool includeConfig)
    {
        w.WriteString("stream_name", info.Stream);
        w.WriteString("name", info.Name);
        w.WriteString("created", ApiJson.Time(info.Created));
        if (includeConfig)
        {
            w.WritePropertyName("config");
            JsonSerializer.Serialize(w, info.Config, ApiJsonContext.Default.PlatformConsumerConfig);
        }
        w.WriteStartObject("delivered");
        w.WriteNumber("consumer_seq", info.Delivered.ConsumerSeq);
        w.WriteNumber("stream_seq", info.Delivered.StreamSeq);
        if (info.LastActive is { } lastActive)
            w.WriteString("last_active", ApiJson.Time(lastActive));
        w.WriteEndObject();
        w.WriteStartObject("ack_floor");
        w.WriteNumber("consumer_seq", info.AckFloor.ConsumerSeq);
        w.WriteNumber("stream_seq", info.AckFloor.StreamSeq);
        w.WriteEndObject();
        w.WriteNumber("num_ack_pending", info.NumAckPending);
        w.WriteNumber("num_redelivered", info.NumRedelivered);
        int waiting = _consumers.TryGetValue(info.Stream + "." + info.Name, out var handle) ? Volatile.Read(ref handle.Waiting) : 0;
        w.WriteNumber("num_waiting", waiting);
        w.WriteNumber("num_pending", info.NumPending);
        // In a cluster, as nats-server: a consumer is served where its stream's home is, its state on the stream's replicas.
        if (node.IsCluster && catalog.TryGet(info.Stream, out var entry))
            ClusterInfoJson.Write(w, node.ClusterName, entry.HomeOf(0), info.Replicas);
        if (info.Config.IsPush && server.Router.HasInterest(Encoding.UTF8.GetBytes(info.Config.DeliverSubject!)))
            w.WriteBoolean("push_bound", true);
        var pauseRemaining = info.Config.PauseRemaining(DateTime.UtcNow);
        if (pauseRemaining > TimeSpan.Zero)
        {
            w.WriteBoolean("paused", true);
            w.WriteNumber("pause_remaining", ApiJson.Nanos(pauseRemaining));
        }
        // nats-server reports the first group (the only one it serves state for), with the consumer's one pin.
        if (info.Config.PriorityGroups is [var group, ..])
        {
            w.WriteStartArray("priority_groups");
            w.WriteStartObject();
            w.WriteString("group", group);
            if (info.PinnedClientId is { } pinId)
                w.WriteString("pinned_client_id", pinId);
            // Go's omitempty never leaves out a time: the zero time stands for none.
            w.WriteString("pinned_ts", ApiJson.Time(info.PinnedAt ?? default));
            w.WriteEndObject();
            w.WriteEndArray();
        }
    }

    private static string? UnknownConfigField(byte[] body)
    {
        using var document = System.Text.Json.JsonDocument.Parse(body);
        return document.RootElement.TryGetProperty("config", out var config)
            ? UnknownFields.Find(config, ApiJsonContext.Default.PlatformConsumerConfig)
            : null;
    }

    /// <summary>Go's duration format for the few limits nats-server prints in status texts.</summary>
    private static string GoDuration(long nanos)
    {
        var span = TimeSpan.FromTicks(nanos / 100);
        if (span.TotalSeconds >= 1 && span.Milliseconds == 0)
            return span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes}m{span.Seconds}s" : $"{span.Seconds}s";
        return $"{span.TotalMilliseconds}ms";
    }
}

internal sealed class ConsumerUnpinBody
{
    [JsonPropertyName("group")] public string? Group { get; set; }
}

internal sealed class ConsumerPauseBody
{
    [JsonPropertyName("pause_until")] public DateTime? PauseUntil { get; set; }
}

internal sealed class CreateConsumerBody
{
    [JsonPropertyName("stream_name")] public string? StreamName { get; set; }
    [JsonPropertyName("config")] public PlatformConsumerConfig? Config { get; set; }
    [JsonPropertyName("action")] public string? Action { get; set; }
}
