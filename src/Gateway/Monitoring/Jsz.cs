using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Platform.Gateway.JetStream;
using Platform.Grains.Consumers;
using Platform.Grains.Streams;

namespace Platform.Gateway.Monitoring;

/// <summary>
/// /jsz: JetStream totals and, on request, nats-server's detail levels for the one account the silo has ("$G"):
/// accounts=true adds account_details, streams=true adds each stream's state (implies accounts), consumers=true
/// each stream's consumers (implies streams), config=true their configs. acc=NAME picks an account (only "$G"
/// exists); offset/limit page the accounts, as nats-server does. leader-only is accepted: a single silo leads
/// everything it serves.
/// Deliberately absent: the per-account reserved_memory/reserved_storage (nats-server's value there is an unset
/// uint64 max) and the per-account "accounts" count, which means nothing for an account.
/// </summary>
internal static class Jsz
{
    public const string GlobalAccount = "$G";
    private const int DefaultLimit = 1024;

    public static async Task Handle(MonitoringContext context, HttpContext http)
    {
        string? error = null;
        if (!MonitoringEndpoints.TryBool(http, "accounts", out bool accounts, out error)
            || !MonitoringEndpoints.TryBool(http, "streams", out bool streams, out error)
            || !MonitoringEndpoints.TryBool(http, "consumers", out bool consumers, out error)
            || !MonitoringEndpoints.TryBool(http, "config", out bool config, out error)
            || !MonitoringEndpoints.TryBool(http, "leader-only", out _, out error)
            || !MonitoringEndpoints.TryInt(http, "offset", out int offset, out error)
            || !MonitoringEndpoints.TryInt(http, "limit", out int limit, out error))
        {
            await MonitoringEndpoints.BadRequest(http, error!);
            return;
        }
        var account = http.Request.Query["acc"].ToString();
        streams |= consumers;
        accounts |= streams || account.Length > 0;
        if (limit <= 0) limit = DefaultLimit;
        if (offset < 0) offset = 0;
        // A named account is shown whatever the paging; otherwise the one account is on the first page only.
        bool showAccount = accounts && (account.Length > 0 ? account == GlobalAccount : offset == 0);

        var server = context.Server;
        var js = context.JetStream;
        var snapshot = js is null ? null : await JetStreamSnapshot.TakeAsync(js, withConsumers: consumers);
        await MonitoringEndpoints.WriteJson(http, w =>
        {
            w.WriteString("server_id", server.Info.ServerId);
            w.WriteString("now", ApiJson.Time(DateTime.UtcNow));
            if (js is null || snapshot is null)
            {
                // nats-server's answer without JetStream: disabled, and zeros that are true of a server without it.
                w.WriteBoolean("disabled", true);
                w.WriteStartObject("config");
                w.WriteNumber("max_memory", 0);
                w.WriteNumber("max_storage", 0);
                w.WriteEndObject();
                WriteStats(w, 0, 0, 0, 0, accounts: 0, 0, 0);
                w.WriteNumber("streams", 0);
                w.WriteNumber("consumers", 0);
                w.WriteNumber("messages", 0);
                w.WriteNumber("bytes", 0);
                return;
            }
            WriteConfig(w, js);
            WriteStats(w, snapshot.Memory, snapshot.Storage, snapshot.ReservedMemory, snapshot.ReservedStorage, accounts: 1,
                js.Responder.Total, js.Responder.Errors);
            w.WriteNumber("streams", snapshot.Streams.Count);
            w.WriteNumber("consumers", snapshot.Consumers);
            w.WriteNumber("messages", snapshot.Messages);
            w.WriteNumber("bytes", snapshot.Bytes);
            if (server.Cluster is { } cluster)
            {
                // nats-server's meta group: the catalog, which runs on one node (its leader) for the whole cluster.
                w.WriteStartObject("meta_cluster");
                w.WriteString("name", cluster.Name);
                if (js.Catalog.Leader.Length > 0)
                    w.WriteString("leader", js.Catalog.Leader);
                w.WriteNumber("cluster_size", cluster.SiloUrls.Count);
                w.WriteEndObject();
            }
            if (!showAccount)
                return;
            w.WriteStartArray("account_details");
            w.WriteStartObject();
            w.WriteString("name", GlobalAccount);
            w.WriteString("id", GlobalAccount);
            w.WriteNumber("memory", snapshot.Memory);
            w.WriteNumber("storage", snapshot.Storage);
            w.WriteNumber("ha_assets", 0);
            WriteApi(w, js.Responder.Total, js.Responder.Errors);
            if (streams && snapshot.Streams.Count > 0)
            {
                w.WriteStartArray("stream_detail");
                foreach (var stream in snapshot.Streams)
                    WriteStream(w, js, server.Info.ServerName, stream, config, consumers);
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteEndArray();
        });
    }

    /// <summary>
    /// The JetStream config block of /jsz and /varz: the configured max_memory_store and max_file_store. Without them
    /// the silo enforces no limit and reports -1 (NATS's "unlimited") rather than nats-server's computed defaults
    /// (75% of RAM and of free disk).
    /// </summary>
    public static void WriteConfig(Utf8JsonWriter w, JetStreamServices js)
    {
        w.WriteStartObject("config");
        w.WriteNumber("max_memory", js.Limits.MaxMemory);
        w.WriteNumber("max_storage", js.Limits.MaxStore);
        w.WriteString("store_dir", js.StoreDirectory);
        w.WriteEndObject();
    }

    /// <summary>The usage fields of nats-server's JetStreamStats; reserved_* sum the streams' max_bytes.</summary>
    public static void WriteStats(Utf8JsonWriter w, ulong memory, ulong storage, long reservedMemory, long reservedStorage,
        int accounts, long apiTotal, long apiErrors)
    {
        w.WriteNumber("memory", memory);
        w.WriteNumber("storage", storage);
        w.WriteNumber("reserved_memory", reservedMemory);
        w.WriteNumber("reserved_storage", reservedStorage);
        w.WriteNumber("accounts", accounts);
        // HA assets are replicated streams and consumers; a single silo has none.
        w.WriteNumber("ha_assets", 0);
        WriteApi(w, apiTotal, apiErrors);
    }

    private static void WriteApi(Utf8JsonWriter w, long total, long errors)
    {
        w.WriteStartObject("api");
        w.WriteNumber("total", total);
        w.WriteNumber("errors", errors);
        w.WriteEndObject();
    }

    private static void WriteStream(Utf8JsonWriter w, JetStreamServices js, string serverName, StreamSnapshot stream, bool config, bool consumers)
    {
        var info = stream.Info;
        w.WriteStartObject();
        w.WriteString("name", info.Config.Name);
        w.WriteString("created", ApiJson.Time(info.Created));
        // nats-server names itself leader of every stream it serves alone; so does the silo.
        w.WriteStartObject("cluster");
        w.WriteString("leader", serverName);
        w.WriteEndObject();
        if (config)
            JetStreamApi.WriteStreamConfig(w, info.Config);
        JetStreamApi.WriteStreamState(w, info);
        if (consumers && stream.Consumers is { Length: > 0 } list)
        {
            w.WriteStartArray("consumer_detail");
            foreach (var consumer in list)
            {
                w.WriteStartObject();
                js.Consumers.WriteInfo(w, consumer, includeConfig: config);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }
}

internal sealed record StreamSnapshot(PlatformStreamInfo Info, PlatformConsumerInfo[]? Consumers);

/// <summary>Stream and consumer state gathered through the grains for one monitoring request.</summary>
internal sealed class JetStreamSnapshot
{
    public List<StreamSnapshot> Streams { get; } = [];
    public ulong Memory, Storage, Messages, Bytes;
    /// <summary>The max_bytes the streams reserve against max_memory_store and max_file_store.</summary>
    public long ReservedMemory, ReservedStorage;
    public long Consumers;

    /// <summary>
    /// One GetInfo per stream (an interleaving read on the stream grain) and, with <paramref name="withConsumers"/>,
    /// one Info per consumer. Streams deleted between the catalog listing and the call are skipped.
    /// </summary>
    public static async Task<JetStreamSnapshot> TakeAsync(JetStreamServices js, bool withConsumers)
    {
        var snapshot = new JetStreamSnapshot();
        var configs = await js.Grains.GetGrain<IStreamCatalogGrain>(0).List();
        foreach (var config in configs.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            // In a cluster each silo reports the streams it holds, as each nats-server reports its own.
            if (js.Node.IsCluster && (!js.Catalog.TryGet(config.Name, out var entry) || entry.HomeOf(0) != js.Node.Name))
                continue;
            if (config.MaxBytes > 0)
            {
                if (config.Storage == StorageType.Memory)
                    snapshot.ReservedMemory += config.MaxBytes;
                else
                    snapshot.ReservedStorage += config.MaxBytes;
            }
            var stream = js.Grains.GetGrain<IStreamGrain>(config.Name);
            if ((await stream.GetInfo(false, null)).Value is not { } info)
                continue;
            if (info.Config.Storage == StorageType.Memory)
                snapshot.Memory += info.State.Bytes;
            else
                snapshot.Storage += info.State.Bytes;
            snapshot.Messages += info.State.Messages;
            snapshot.Bytes += info.State.Bytes;
            snapshot.Consumers += info.ConsumerCount;
            PlatformConsumerInfo[]? consumers = null;
            if (withConsumers)
            {
                var list = new List<PlatformConsumerInfo>();
                foreach (var name in (await stream.ConsumerNames()).Order(StringComparer.Ordinal))
                {
                    if (await js.Grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(config.Name, name)).Info() is { } consumer)
                        list.Add(consumer);
                }
                consumers = [.. list];
            }
            snapshot.Streams.Add(new StreamSnapshot(info, consumers));
        }
        return snapshot;
    }
}
