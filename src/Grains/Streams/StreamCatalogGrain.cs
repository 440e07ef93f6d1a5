using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using Platform.Grains.Cluster;
using Platform.Grains.Consumers;
using Platform.Grains.Node;
using Platform.Grains.Replication;
using Platform.Grains.Sourcing;
using Platform.Grains.Subjects;

namespace Platform.Grains.Streams;

/// <summary>
/// Knows every stream by name, keeps their subjects disjoint and picks each stream partition's home node. Rebuilt at
/// activation from the metadata the stream grains persist, so a restart brings every file stream back; memory streams
/// are known only while the silo runs. Every change reaches every silo's <see cref="CatalogView"/> before the caller
/// hears back, so each silo's capture table and placement agree with the catalog.
/// </summary>
[CollectionAgeLimit(AlwaysActive = true)]
internal sealed class StreamCatalogGrain(StreamStore store, NodeIdentity node, IClusterMembershipService membership, IClusterManifestProvider manifest,
    ILogger<StreamCatalogGrain> logger)
    : Grain, IStreamCatalogGrain
{
    private const int MaxPartitions = 64;
    private const int MaxReplicas = 5;

    /// <summary>The grain storage that holds the catalog of a cluster, which outlives any one silo.</summary>
    public const string StorageName = "platform-catalog";
    private const string StateName = "catalog";

    private readonly SortedDictionary<string, CatalogEntry> _streams = new(StringComparer.Ordinal);
    private long _version;
    private IGrainStorage? _storage;
    private GrainState<CatalogState>? _stored;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (node.IsCluster)
        {
            _storage = ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageName);
            _stored = new GrainState<CatalogState>(new CatalogState());
            await _storage.ReadStateAsync(StateName, GrainContext.GrainId, _stored);
            var stored = _stored.State ?? new CatalogState();
            foreach (var entry in stored.Streams)
                _streams[entry.Config.Name] = entry;
            _version = stored.Version;
        }
        // Alone, the streams in the store are the catalog; in a cluster, a node's existing streams join it once.
        foreach (var meta in store.LoadAll())
            if (!_streams.ContainsKey(meta.Config.Name))
                _streams[meta.Config.Name] = LocalEntry(meta.Config);
        await PublishAsync(null, null);
    }

    public async Task<StreamResult<PlatformStreamInfo>> Create(PlatformStreamConfig config)
    {
        // Orleans clients may send a bare config; defaults are idempotent, so apply them here as well as at the API.
        config = config.WithDefaults();
        if (Validate(config) is { } invalid)
            return StreamResult<PlatformStreamInfo>.Fail(invalid);
        if (SourceCycles.Check(config, Find) is { } cycle)
            return StreamResult<PlatformStreamInfo>.Fail(cycle);
        bool exists = _streams.TryGetValue(config.Name, out var existing);
        if (exists && !existing!.Config.SameAs(config))
            return StreamResult<PlatformStreamInfo>.Fail(ApiError.StreamNameExists);
        // nats-server counts a stream without max_bytes as one byte here, so a fully reserved server takes no more.
        if (!exists && Exceeds(config.Storage, Math.Max(config.MaxBytes, 1), except: null))
            return StreamResult<PlatformStreamInfo>.Fail(NoRoom(config.Storage));
        if (Overlapping(config) is not null)
            return StreamResult<PlatformStreamInfo>.Fail(ApiError.SubjectsOverlap);
        // A stream that exists keeps its homes: its data is there.
        var entry = exists ? existing! with { Config = config } : await NewEntryAsync(config);
        if (entry is null)
            return StreamResult<PlatformStreamInfo>.Fail(ApiError.InsufficientResources);
        using var hint = Hint(entry);
        if (!exists)
        {
            await PutAsideLeftoversAsync(entry);
            // The homes are stored before any data is made there: a catalog that fails here leaves nothing behind,
            // and one that fails later leaves a stream it knows of, never data on a node it does not name.
            _streams[config.Name] = entry;
            await SaveAsync();
        }
        var result = await CreatePartitionsAsync(config);
        if (result.Error is null && !exists && entry.Replicas is not null && await CreateReplicasAsync(entry) is { } failed)
        {
            await DeletePartitionsAsync(config);
            result = failed;
        }
        if (result.Error is not null)
        {
            if (!exists)
            {
                _streams.Remove(config.Name);
                await SaveAsync();
            }
            return result;
        }
        _streams[config.Name] = entry;
        await PublishAsync(entry, null);
        return result;
    }

    /// <summary>
    /// Moves aside what the new stream's nodes hold under its name: a node that was down when a replicated stream of
    /// that name was deleted kept its copy, which the new stream's grains would open as their own (its messages and
    /// consumers back).
    /// </summary>
    private async Task PutAsideLeftoversAsync(CatalogEntry entry)
    {
        if (!node.IsCluster)
            return;
        var silos = PlatformNodes();
        foreach (var name in new HashSet<string>([.. entry.Homes, .. entry.Replicas?.Nodes ?? []], StringComparer.Ordinal))
            if (silos.TryGetValue(name, out var silo))
                await GrainFactory.GetGrain<IPartitionTransferGrain>(silo.ToParsableString()).PutAside(entry.Config.Name);
    }

    private async Task<StreamResult<PlatformStreamInfo>> CreatePartitionsAsync(PlatformStreamConfig config)
    {
        var result = await GrainFactory.GetGrain<IStreamGrain>(config.Name).Create(config);
        if (result.Error is not null)
            return result;
        for (int p = 1; p < StreamKeys.Count(config); p++)
        {
            var partition = await GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(config.Name, p)).Create(config);
            if (partition.Error is not null)
            {
                // A partition the silo had no room for: the stream is refused whole, not left half made.
                for (int made = p - 1; made >= 0; made--)
                    await GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(config.Name, made)).Delete();
                return partition;
            }
        }
        return result;
    }

    /// <summary>Makes a new replicated stream's copies on its replica nodes; the error when one could not be made.</summary>
    private async Task<StreamResult<PlatformStreamInfo>?> CreateReplicasAsync(CatalogEntry entry)
    {
        var set = entry.Replicas!;
        try
        {
            foreach (var replica in set.Nodes)
                await GrainFactory.GetGrain<IReplicaGrain>(ReplicaKey.Of(entry.Config.Name, replica)).Create(set.Epoch);
            return null;
        }
        catch (Exception ex)
        {
            logger.LogWarning("Stream {Stream} not created: a replica could not be made: {Reason}", entry.Config.Name, ex.Message);
            await DeleteReplicasAsync(entry.Config.Name, entry.Replicas!.Nodes);
            return StreamResult<PlatformStreamInfo>.Fail(ApiError.StoreCreateFailed);
        }
    }

    /// <summary>Removes the copies of a stream on <paramref name="nodes"/> that are active; one that is not keeps its copy.</summary>
    private async Task DeleteReplicasAsync(string stream, string[] nodes)
    {
        foreach (var replica in nodes)
        {
            try
            {
                await GrainFactory.GetGrain<IReplicaGrain>(ReplicaKey.Of(stream, replica)).Delete();
            }
            catch (Exception ex)
            {
                logger.LogWarning("The replica of stream {Stream} on {Node} was not removed: {Reason}", stream, replica, ex.Message);
            }
        }
    }

    private async Task DeletePartitionsAsync(PlatformStreamConfig config)
    {
        for (int p = StreamKeys.Count(config) - 1; p >= 0; p--)
            await GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(config.Name, p)).Delete();
    }

    public async Task<ReplicaSet?> ChangeInSync(string stream, long epoch, string[] remove, string[] add)
    {
        if (!_streams.TryGetValue(stream, out var entry) || entry.Replicas is not { } set || set.Epoch != epoch
            || ReplicaSetChanges.ChangeInSync(set, remove, add) is not { } changed)
            return null;
        var next = entry with { Replicas = changed };
        _streams[stream] = next;
        await PublishAsync(next, null);
        return changed;
    }

    public async Task<ReplicaSet?> RenewReplica(string stream, long epoch, string replica)
    {
        if (!_streams.TryGetValue(stream, out var entry) || entry.Replicas is not { } set || set.Epoch != epoch
            || membership.Find(replica) is not { } silo || Array.IndexOf(set.Nodes, replica) < 0)
            return null;
        var renewed = ReplicaSetChanges.Renew(set, replica, await DataIdOfAsync(replica, silo));
        var next = entry with { Replicas = renewed };
        _streams[stream] = next;
        await PublishAsync(next, null);
        return renewed;
    }

    public async Task<bool> NodeDown(string node)
    {
        if (membership.Find(node) is not null)
            return true;
        bool all = true;
        foreach (var entry in _streams.Values.ToArray())
            if (entry.Replicas is not null && entry.HomeOf(0) == node)
                all &= await PromoteAsync(entry);
        return all;
    }

    public async Task<bool> StepDown(string stream, long epoch, string node)
    {
        if (!_streams.TryGetValue(stream, out var entry) || entry.Replicas is not { } set || set.Epoch != epoch || entry.HomeOf(0) != node)
            return false;
        logger.LogWarning("Stream {Stream}: its primary {Node} found its log damaged and steps down", stream, node);
        return await PromoteAsync(entry);
    }

    /// <summary>
    /// Gives a replicated stream whose primary is gone (or found its log damaged) the in-sync replica with the longest
    /// log as primary. Every reachable in-sync replica takes the new epoch on first, so the old primary, should it
    /// still run, cannot get a batch accepted by it, and an in-sync replica holds every acknowledged message. Without
    /// a whole one the stream stays offline (false), its primary unchanged at the epoch the answering replicas took:
    /// they refuse any lower one, so the old primary, back, must come back at that epoch, and a later promotion fences
    /// past it.
    /// </summary>
    private async Task<bool> PromoteAsync(CatalogEntry entry)
    {
        var set = entry.Replicas!;
        var fenced = new List<string>();
        bool anyTookEpoch = false;
        string? chosen = null;
        ulong longest = 0;
        using (Hint(entry))
        {
            foreach (var replica in set.InSync)
            {
                if (membership.Find(replica) is null)
                    continue;
                try
                {
                    var ack = await GrainFactory.GetGrain<IReplicaGrain>(ReplicaKey.Of(entry.Config.Name, replica)).Fence(set.Epoch + 1)
                        .WaitAsync(TimeSpan.FromSeconds(5));
                    if (!ack.Accepted)
                        continue;
                    anyTookEpoch = true;
                    // A damaged, cut or new copy takes the epoch but may lack acknowledged messages: never promoted.
                    if (!ack.Whole)
                    {
                        logger.LogWarning("Replica {Node} of stream {Stream} is not whole (damaged {Damaged}, new {New}, ends at {Last} below {Held}): not promoted",
                            replica, entry.Config.Name, ack.Damaged, ack.NewCopy, ack.LastSequence, ack.Held);
                        continue;
                    }
                    fenced.Add(replica);
                    if (chosen is null || ack.LastSequence > longest)
                        (chosen, longest) = (replica, ack.LastSequence);
                }
                catch (Exception ex)
                {
                    logger.LogWarning("Replica {Node} of stream {Stream} could not be fenced: {Reason}", replica, entry.Config.Name, ex.Message);
                }
            }
        }
        if (chosen is null)
        {
            logger.LogWarning("Stream {Stream} stays offline: no whole in-sync replica answered to replace its primary {Node}", entry.Config.Name, entry.HomeOf(0));
            if (anyTookEpoch)
            {
                var kept = entry with { Replicas = ReplicaSetChanges.KeepAfterFailedPromotion(set) };
                _streams[entry.Config.Name] = kept;
                await PublishAsync(kept, null);
            }
            return false;
        }
        var promoted = ReplicaSetChanges.Promote(entry, chosen, fenced);
        _streams[entry.Config.Name] = promoted;
        await PublishAsync(promoted, null);
        // The new primary starts now rather than at the next call for it: its push consumers deliver again at once.
        _ = StreamWake.WakeAsync(GrainFactory, entry.Config.Name, "its new primary", logger);
        logger.LogWarning("Stream {Stream}: primary {Old} is replaced by {New} (last sequence {Last}) at epoch {Epoch}",
            entry.Config.Name, entry.HomeOf(0), chosen, longest, promoted.Replicas!.Epoch);
        return true;
    }

    public async Task<StreamResult<PlatformStreamInfo>> Update(PlatformStreamConfig config)
    {
        // Sealing fixes what could still change the stored messages, as nats-server does.
        config = config.WithDefaults();
        if (config.Sealed)
            config = config with { MaxAge = 0, Discard = DiscardPolicy.New, DenyDelete = true, DenyPurge = true, AllowRollupHeaders = false };
        if (!_streams.TryGetValue(config.Name, out var existing))
            return StreamResult<PlatformStreamInfo>.Fail(ApiError.StreamNotFound);
        if (Validate(config) is { } invalid)
            return StreamResult<PlatformStreamInfo>.Fail(invalid);
        if (SourceCycles.Check(config, Find) is { } cycle)
            return StreamResult<PlatformStreamInfo>.Fail(cycle);
        if (StreamConfigRules.CheckUpdate(existing.Config, config) is { } fixedField)
            return StreamResult<PlatformStreamInfo>.Fail(fixedField);
        // An update reserves its new max_bytes in place of the old; dropping max_bytes, or lowering it, always fits.
        if (config.MaxBytes > 0 && existing.Config.Storage == config.Storage && Exceeds(config.Storage, config.MaxBytes, except: config.Name))
            return StreamResult<PlatformStreamInfo>.Fail(NoRoom(config.Storage));
        if (Overlapping(config) is not null)
            return StreamResult<PlatformStreamInfo>.Fail(ApiError.SubjectsOverlap);
        if (config.NumReplicas != existing.Config.NumReplicas)
            return await ResizeAsync(existing, config);
        var entry = existing with { Config = config };
        using var hint = Hint(entry);
        var result = await GrainFactory.GetGrain<IStreamGrain>(config.Name).Update(config);
        if (result.Error is not null)
            return result;
        for (int p = 1; p < StreamKeys.Count(config); p++)
            await GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(config.Name, p)).Update(config);
        _streams[config.Name] = entry;
        await PublishAsync(entry, null);
        return result;
    }

    private static readonly ApiError MemoryNotResized = ApiError.InvalidConfig("replicas of a memory stream can not be changed");

    /// <summary>
    /// Gives a stream more or fewer copies, as nats-server's stream update does. The rest of the update is applied
    /// first, at the old count. Then the stream and its consumers close as for a move (their files whole, nothing
    /// served), and the replica set changes one copy at a time, each change a new epoch in the catalog: a new copy is
    /// made from the closed primary's files (log and consumers), so it holds every acknowledged message and every
    /// consumer's state and joins the set in sync; a copy removed leaves it (out-of-sync copies first). The stream
    /// opens again with the last set written; copies removed go only after the primary that sent to them has gone. The
    /// primary stays where it is. The stream is offline while the files are copied, as in a move.
    /// </summary>
    /// <remarks>
    /// <para>One copy at a time, as membership changes in PacificA or Raft: every set the catalog ever held differs
    /// from the one before by one copy, and should a step fail, the sets already written stand (the stream keeps the
    /// copies made so far) instead of being rolled back to an older epoch that fenced copies would refuse.</para>
    /// <para>The catalog does not wait for a replicated primary's new activation: that one may ask the catalog to change
    /// its in-sync set, which would wait for this turn to end. A stream left with one copy asks nothing.</para>
    /// </remarks>
    private async Task<StreamResult<PlatformStreamInfo>> ResizeAsync(CatalogEntry existing, PlatformStreamConfig config)
    {
        if (config.Storage == StorageType.Memory)
            return StreamResult<PlatformStreamInfo>.Fail(MemoryNotResized);
        var name = config.Name;
        var grain = GrainFactory.GetGrain<IStreamGrain>(name);
        StreamResult<PlatformStreamInfo> updated;
        using (Hint(existing))
            updated = await grain.Update(config with { NumReplicas = existing.Config.NumReplicas });
        if (updated.Error is not null)
            return updated;
        int copies = (existing.Replicas?.Nodes.Length ?? 0) + 1;
        string[] added = [], addedDataIds = [], removed = [];
        var silos = PlatformNodes();
        if (config.NumReplicas > copies)
        {
            if (ReplicaSetChanges.PickNodes([existing.HomeOf(0), .. existing.Replicas?.Nodes ?? []], config.NumReplicas - copies, CopyCounts(silos.Keys)) is not { } picked)
                return StreamResult<PlatformStreamInfo>.Fail(NoPeers);
            added = picked;
            addedDataIds = await DataIdsOfAsync(added, silos);
        }
        var consumers = await ConsumersOfAsync(name, grain, 0);
        using (Hint(existing))
        {
            if ((await grain.BeginMove()).Error is { } refused)
                return StreamResult<PlatformStreamInfo>.Fail(refused);
        }
        var current = existing;
        // The step whose new copy is being made: if it fails, that copy goes (under this entry, which names it).
        CatalogEntry? growing = null;
        try
        {
            await FreezeAsync(consumers);
            for (int i = 0; i < added.Length; i++)
            {
                var set = current.Replicas;
                var grown = ReplicaSetChanges.Grow(set, [added[i]], [addedDataIds[i]], set is null ? FirstEpoch : set.Epoch + 1);
                growing = current with { Config = config with { NumReplicas = grown.Nodes.Length + 1 }, Replicas = grown };
                var target = GrainFactory.GetGrain<IPartitionTransferGrain>(silos[added[i]].ToParsableString());
                // A copy the node kept from an earlier set (it was down when that copy was removed) is put aside, not
                // overwritten by the copy.
                await target.PutAside(name);
                await target.CopyFrom(silos[existing.HomeOf(0)].ToParsableString(), name, 0);
                using (Hint(growing))
                    await GrainFactory.GetGrain<IReplicaGrain>(ReplicaKey.Of(name, added[i])).Create(grown.Epoch);
                await SwitchAsync(growing);
                growing = null;
            }
            while (current.Replicas is { } set && set.Nodes.Length + 1 > config.NumReplicas)
            {
                var (smaller, gone) = ReplicaSetChanges.Shrink(set, set.Nodes.Length);
                await SwitchAsync(current with { Config = config with { NumReplicas = set.Nodes.Length }, Replicas = smaller });
                removed = [.. removed, .. gone];
            }
            logger.LogInformation("Stream {Stream} goes from {From} to {To} copies (added {Added}, removed {Removed})",
                name, copies, config.NumReplicas, string.Join(", ", added), string.Join(", ", removed));
        }
        catch (Exception ex)
        {
            logger.LogWarning("Changing the replicas of stream {Stream} stopped at {Copies} copies: {Reason}", name, (current.Replicas?.Nodes.Length ?? 0) + 1, ex.Message);
            _streams[name] = current;
            if (growing is not null)
                using (Hint(growing))
                    await DeleteReplicasAsync(name, [growing.Replicas!.Nodes[^1]]);
        }
        using (Hint(current))
            await EndMoveAsync(grain, consumers, switched: !ReferenceEquals(current, existing));
        // Removed only now: the primary that sent to them has gone, and the new one does not know them.
        if (removed.Length > 0)
            using (Hint(existing))
                await DeleteReplicasAsync(name, removed);
        if (current.Config.NumReplicas != config.NumReplicas)
            return StreamResult<PlatformStreamInfo>.Fail(ApiError.StoreFailed(
                $"changing the stream's replicas failed, the stream has {current.Config.NumReplicas} copies"));
        if (current.Replicas is { } next)
        {
            _ = StartAfterResizeAsync(grain, current);
            return StreamResult<PlatformStreamInfo>.Ok(updated.Value! with { Config = config, Replicas = PeersAfterResize(next, updated.Value) });
        }
        using (Hint(current))
        {
            var result = await UntilServedAsync(() => grain.Update(config));
            foreach (var consumer in consumers)
                await UntilServedAsync(consumer.GetConfig);
            return result;
        }

        async Task SwitchAsync(CatalogEntry step)
        {
            _streams[name] = step;
            await PublishAsync(step, null);
            current = step;
        }
    }

    /// <summary>
    /// Opens a replicated stream again right after its resize, off the catalog's turn, so its push consumers deliver
    /// again before any client calls.
    /// </summary>
    private async Task StartAfterResizeAsync(IStreamGrain grain, CatalogEntry entry)
    {
        try
        {
            using (Hint(entry))
                await UntilServedAsync(() => grain.GetInfo(false, null));
        }
        catch (Exception ex)
        {
            logger.LogWarning("Stream {Stream} did not open after its resize; the next call opens it: {Reason}", entry.Config.Name, ex.Message);
        }
    }

    /// <summary>The copies of a resized stream as its info reports them: those it kept as they were, the new ones current.</summary>
    private static ReplicaPeer[] PeersAfterResize(ReplicaSet set, PlatformStreamInfo before)
    {
        var peers = new ReplicaPeer[set.Nodes.Length];
        for (int i = 0; i < peers.Length; i++)
        {
            var node = set.Nodes[i];
            peers[i] = Array.Find(before.Replicas ?? [], p => p.Name == node) ?? new ReplicaPeer(node, true, TimeSpan.Zero, 0);
        }
        return peers;
    }

    public async Task<bool> Delete(string name)
    {
        if (!_streams.TryGetValue(name, out var entry))
            return false;
        var config = entry.Config;
        using var hint = Hint(entry);
        // Refused while any home is offline (its grain cannot activate), so no data is left behind unowned.
        for (int p = 0; p < StreamKeys.Count(config); p++)
            await GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(name, p)).GetInfo(false, null);
        _streams.Remove(name);
        // Publishes stop being captured before the stream's grains go.
        await PublishAsync(null, name);
        // The other partitions first: partition 0 removes the stream's directory last.
        for (int p = 1; p < StreamKeys.Count(config); p++)
            await GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(name, p)).Delete();
        await GrainFactory.GetGrain<IStreamGrain>(name).Delete();
        if (entry.Replicas is { } set)
            await DeleteReplicasAsync(name, set.Nodes);
        return true;
    }

    public Task<PlatformStreamConfig[]> List()
    {
        var configs = new PlatformStreamConfig[_streams.Count];
        int i = 0;
        foreach (var entry in _streams.Values)
            configs[i++] = entry.Config;
        return Task.FromResult(configs);
    }

    public async Task<StreamResult<CatalogEntry>> MoveHome(string stream, int partition, string toNode)
    {
        if (!_streams.TryGetValue(stream, out var entry) || partition < 0 || partition >= entry.Homes.Length)
            return StreamResult<CatalogEntry>.Fail(ApiError.StreamNotFound);
        if (entry.Replicas is not null)
            return StreamResult<CatalogEntry>.Fail(ReplicatedNotMoved);
        var silo = membership.Find(toNode);
        if (silo is null)
            return StreamResult<CatalogEntry>.Fail(ApiError.InvalidConfig($"node {toNode} is not active in the cluster"));
        using (Hint(entry))
        {
            try
            {
                await GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(stream, partition)).GetInfo(false, null);
                return StreamResult<CatalogEntry>.Fail(ApiError.InvalidConfig("the partition is online: its home holds its data"));
            }
            catch (Exception ex) when (StreamOfflineException.Is(ex))
            {
            }
        }
        var homes = (string[])entry.Homes.Clone();
        var dataIds = (string[])entry.DataIds.Clone();
        homes[partition] = toNode;
        dataIds[partition] = await DataIdOfAsync(toNode, silo);
        var moved = entry with { Homes = homes, DataIds = dataIds };
        _streams[stream] = moved;
        await SaveAsync();
        using (Hint(moved))
        {
            var created = await GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(stream, partition)).Create(moved.Config);
            if (created.Error is { } error)
                return StreamResult<CatalogEntry>.Fail(error);
        }
        logger.LogWarning("Stream {Stream} partition {Partition} moved to {Node}, starting empty", stream, partition, toNode);
        await PublishAsync(moved, null);
        return StreamResult<CatalogEntry>.Ok(moved);
    }

    public async Task<StreamResult<CatalogEntry>> Move(string stream, string? fromNode, string? toNode)
    {
        if (!_streams.TryGetValue(stream, out var entry))
            return StreamResult<CatalogEntry>.Fail(ApiError.StreamNotFound);
        if (entry.Replicas is not null)
            return StreamResult<CatalogEntry>.Fail(ReplicatedNotMoved);
        var silos = PlatformNodes();
        if (fromNode is not null && !silos.ContainsKey(fromNode) && Array.IndexOf(entry.Homes, fromNode) < 0
            || toNode is not null && !silos.ContainsKey(toNode))
            return StreamResult<CatalogEntry>.Fail(ServerNotMember);
        if (fromNode is not null && Array.IndexOf(entry.Homes, fromNode) < 0)
            return StreamResult<CatalogEntry>.Fail(PeerNotMember);
        var moves = new List<(int Partition, string To)>();
        var load = HomeCounts(silos.Keys);
        for (int p = 0; p < entry.Homes.Length; p++)
        {
            var home = entry.Homes[p];
            if (fromNode is not null && home != fromNode)
                continue;
            if (!silos.ContainsKey(home))
                return StreamResult<CatalogEntry>.Fail(ApiError.StreamOffline);
            var to = toNode ?? Least(load, except: home);
            if (to is null)
                return StreamResult<CatalogEntry>.Fail(NoPeers);
            if (to == home)
                continue;
            load[to]++;
            load[home]--;
            moves.Add((p, to));
        }
        foreach (var (partition, to) in moves)
        {
            if (await MovePartitionAsync(stream, partition, to, silos) is { } error)
                return StreamResult<CatalogEntry>.Fail(error);
        }
        return StreamResult<CatalogEntry>.Ok(_streams[stream]);
    }

    private static readonly ApiError ServerNotMember = new(400, 10044, "server is not a member of the cluster");
    private static readonly ApiError PeerNotMember = new(400, 10040, "peer not a member");
    private static readonly ApiError NoPeers = new(400, 10005, "no suitable peers for placement");
    private static readonly ApiError ReplicatedNotMoved = ApiError.InvalidConfig("replicated streams can not be moved yet");

    /// <summary>
    /// Moves one partition with its data (see <see cref="Move"/>); null when done. Until the catalog has switched, any
    /// failure leaves the partition at its old home, open again, and removes what was copied.
    /// </summary>
    private async Task<ApiError?> MovePartitionAsync(string stream, int partition, string to, SortedDictionary<string, SiloAddress> silos)
    {
        var entry = _streams[stream];
        var from = entry.Homes[partition];
        var grain = GrainFactory.GetGrain<IStreamGrain>(StreamKeys.Partition(stream, partition));
        var consumers = await ConsumersOfAsync(stream, grain, partition);
        var target = GrainFactory.GetGrain<IPartitionTransferGrain>(silos[to].ToParsableString());
        logger.LogInformation("Moving stream {Stream} partition {Partition} from {From} to {To}", stream, partition, from, to);
        using (Hint(entry))
        {
            if ((await grain.BeginMove()).Error is { } refused)
                return refused;
        }
        bool switched = false;
        try
        {
            await FreezeAsync(consumers);
            long bytes = await target.CopyFrom(silos[from].ToParsableString(), stream, partition);
            var homes = (string[])entry.Homes.Clone();
            var dataIds = (string[])entry.DataIds.Clone();
            homes[partition] = to;
            dataIds[partition] = await DataIdOfAsync(to, silos[to]);
            var moved = entry with { Homes = homes, DataIds = dataIds };
            _streams[stream] = moved;
            // Written only if the catalog is unchanged since read (another activation loses rather than overwrites).
            await PublishAsync(moved, null);
            switched = true;
            logger.LogInformation("Stream {Stream} partition {Partition} moved from {From} to {To} ({Bytes} bytes)", stream, partition, from, to, bytes);
        }
        catch (Exception ex)
        {
            logger.LogWarning("Moving stream {Stream} partition {Partition} to {To} failed: {Reason}", stream, partition, to, ex.Message);
            _streams[stream] = entry;
        }
        using (Hint(_streams[stream]))
        {
            await EndMoveAsync(grain, consumers, switched);
            if (!switched)
            {
                await target.Remove(stream, partition);
                return ApiError.StoreFailed($"stream move failed, the stream stays on {from}");
            }
            await GrainFactory.GetGrain<IPartitionTransferGrain>(silos[from].ToParsableString()).Remove(stream, partition);
            // The new home serves at once: the partition opens there, and push consumers start delivering there.
            await UntilServedAsync(() => grain.GetInfo(false, null));
            foreach (var consumer in consumers)
                await UntilServedAsync(consumer.GetConfig);
        }
        return null;
    }

    /// <summary>The consumers of a stream partition (partition 0 keeps them all), which close and open again with it.</summary>
    private async Task<IConsumerGrain[]> ConsumersOfAsync(string stream, IStreamGrain grain, int partition)
    {
        if (partition != 0)
            return [];
        var names = await grain.ConsumerNames();
        var consumers = new IConsumerGrain[names.Length];
        for (int i = 0; i < names.Length; i++)
            consumers[i] = GrainFactory.GetGrain<IConsumerGrain>(ConsumerKey.Of(stream, names[i]));
        return consumers;
    }

    /// <summary>Saves each consumer's state and stops it taking acks, so its files are its whole state.</summary>
    private static async Task FreezeAsync(IConsumerGrain[] consumers)
    {
        foreach (var consumer in consumers)
            if (!await consumer.BeginMove())
                throw new IOException("a consumer's state could not be saved");
    }

    /// <summary>Ends a move or a resize: with <paramref name="switched"/> the activations go and the next call opens them as the catalog now says.</summary>
    private static async Task EndMoveAsync(IStreamGrain grain, IConsumerGrain[] consumers, bool switched)
    {
        foreach (var consumer in consumers)
            await consumer.EndMove(switched);
        await grain.EndMove(switched);
    }

    /// <summary>
    /// Calls a moved grain until its new activation answers: the old one refuses (offline) until it has gone, which
    /// it does as soon as it is idle.
    /// </summary>
    private static async Task<T> UntilServedAsync<T>(Func<Task<T>> call)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception ex) when (StreamOfflineException.Is(ex) && attempt < 100)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>The active nodes that can be homes and have views: the silos with this grain's class, i.e. the platform.</summary>
    private SortedDictionary<string, SiloAddress> PlatformNodes() => membership.ByName(manifest.Current, GrainContext.GrainId.Type);

    private Dictionary<string, int> HomeCounts(IEnumerable<string> nodes)
    {
        var load = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in nodes)
            load[name] = 0;
        foreach (var other in _streams.Values)
            foreach (var home in other.Homes)
                if (load.TryGetValue(home, out int n))
                    load[home] = n + 1;
        return load;
    }

    /// <summary>The node with the fewest partitions (ties by name), other than <paramref name="except"/>; null when none.</summary>
    private static string? Least(Dictionary<string, int> load, string? except)
    {
        string? least = null;
        int fewest = int.MaxValue;
        foreach (var (name, n) in load)
            if (name != except && (n < fewest || n == fewest && string.CompareOrdinal(name, least) < 0))
                (least, fewest) = (name, n);
        return least;
    }

    private async Task<string[]> DataIdsOfAsync(string[] names, SortedDictionary<string, SiloAddress> silos)
    {
        var dataIds = new string[names.Length];
        for (int i = 0; i < names.Length; i++)
            dataIds[i] = await DataIdOfAsync(names[i], silos[names[i]]);
        return dataIds;
    }

    private async Task<string> DataIdOfAsync(string name, SiloAddress silo)
        => name == node.Name ? node.DataId : await GrainFactory.GetGrain<ICatalogViewGrain>(silo.ToParsableString()).DataId();

    private PlatformStreamConfig? Find(string name) => _streams.GetValueOrDefault(name)?.Config;

    public Task<CatalogEntry?> Get(string name) => Task.FromResult(_streams.GetValueOrDefault(name));

    public Task<CatalogSnapshot?> Snapshot(long newerThan)
        => Task.FromResult(_version > newerThan ? new CatalogSnapshot(_version, [.. _streams.Values], node.Name) : null);

    /// <summary>A stream found in this silo's store at start (or any stream of a silo alone) is at home here.</summary>
    private CatalogEntry LocalEntry(PlatformStreamConfig config)
    {
        int partitions = StreamKeys.Count(config);
        return new CatalogEntry(config, Enumerable.Repeat(node.Name, partitions).ToArray(), Enumerable.Repeat(node.DataId, partitions).ToArray());
    }

    /// <summary>
    /// The epoch a new replica set starts at: above any the catalog gave before, since each was given with a change of
    /// the catalog's version. A copy of an earlier stream of the name (or of this one before it went to one copy) kept
    /// by a node that was down when it was removed has taken one of those, and refuses any lower.
    /// </summary>
    private long FirstEpoch => _version + 1;

    /// <summary>
    /// Homes for a new stream's partitions: each goes to the active node with the fewest partitions so far (ties by
    /// name), so the partitions of one stream spread over the cluster; each home's data id is recorded with it. A
    /// replicated stream's copies go to as many other active nodes, at <see cref="FirstEpoch"/>; null when there are
    /// too few.
    /// </summary>
    private async Task<CatalogEntry?> NewEntryAsync(PlatformStreamConfig config)
    {
        if (!node.IsCluster)
            return LocalEntry(config);
        var silos = PlatformNodes();
        var homes = PickHomes(StreamKeys.Count(config), silos.Keys);
        var dataIds = await DataIdsOfAsync(homes, silos);
        if (config.NumReplicas <= 1)
            return new CatalogEntry(config, homes, dataIds);
        // Primaries spread by primaries alone; replicas go where the fewest copies of any kind are.
        if (ReplicaSetChanges.PickNodes([homes[0]], config.NumReplicas - 1, CopyCounts(silos.Keys)) is not { } replicas)
            return null;
        return new CatalogEntry(config, homes, dataIds, new ReplicaSet(FirstEpoch, replicas, await DataIdsOfAsync(replicas, silos), replicas));
    }

    /// <summary>How many partitions and replicas each of <paramref name="nodes"/> holds.</summary>
    private Dictionary<string, int> CopyCounts(IEnumerable<string> nodes)
    {
        var copies = HomeCounts(nodes);
        foreach (var other in _streams.Values)
            foreach (var replica in other.Replicas?.Nodes ?? [])
                if (copies.TryGetValue(replica, out int n))
                    copies[replica] = n + 1;
        return copies;
    }

    private string[] PickHomes(int partitions, IEnumerable<string> nodes)
    {
        var homes = new string[partitions];
        var load = HomeCounts(nodes);
        if (load.Count == 0)
            load[node.Name] = 0;
        for (int p = 0; p < homes.Length; p++)
        {
            var least = Least(load, except: null)!;
            homes[p] = least;
            load[least]++;
        }
        return homes;
    }

    /// <summary>Tells placement which entry the catalog's calls are about, for a stream no silo's view has yet.</summary>
    private static RequestContextScope Hint(CatalogEntry entry)
    {
        RequestContext.Set(CatalogView.EntryHint, entry);
        return default;
    }

    /// <summary>
    /// Sends one change (or, with neither, only the version) to every active silo's view, and the whole catalog to
    /// a view that missed earlier changes. A silo that cannot be reached is leaving; it reloads when it comes back.
    /// </summary>
    private async Task PublishAsync(CatalogEntry? set, string? removed)
    {
        long version = ++_version;
        await SaveAsync();
        var calls = new List<Task>();
        foreach (var silo in PlatformNodes().Values)
            calls.Add(PublishToAsync(silo, version, set, removed));
        await Task.WhenAll(calls);
    }

    /// <summary>
    /// Writes the catalog of a cluster before anyone hears of a change. The write is conditional on the version this
    /// activation read: should a second activation exist (Orleans allows it while membership settles), the one that
    /// loses fails its change instead of overwriting the other's.
    /// </summary>
    private async Task SaveAsync()
    {
        if (_storage is null)
            return;
        _stored!.State = new CatalogState { Version = _version, Streams = [.. _streams.Values] };
        try
        {
            await _storage.WriteStateAsync(StateName, GrainContext.GrainId, _stored);
        }
        catch (InconsistentStateException)
        {
            // Another activation changed the catalog: this one's view is stale, so it goes and the next call reloads.
            DeactivateOnIdle();
            throw;
        }
    }

    private async Task PublishToAsync(SiloAddress silo, long version, CatalogEntry? set, string? removed)
    {
        var view = GrainFactory.GetGrain<ICatalogViewGrain>(silo.ToParsableString());
        try
        {
            if (set is null && removed is null || !await view.Apply(version, set, removed, node.Name))
                await view.Load(new CatalogSnapshot(version, [.. _streams.Values], node.Name));
        }
        catch (Exception ex)
        {
            logger.LogWarning("The catalog could not reach silo {Silo}: {Reason}", silo, ex.Message);
        }
    }

    /// <summary>Removes the hint when the catalog's call is over, so it never reaches calls it is not about.</summary>
    private readonly struct RequestContextScope : IDisposable
    {
        public void Dispose() => RequestContext.Remove(CatalogView.EntryHint);
    }

    private ApiError? Validate(PlatformStreamConfig config)
    {
        if (NameRules.CheckStream(config.Name) is { } badName)
            return badName;
        if (config.NumReplicas < 0)
            return new ApiError(400, 10133, "replicas count cannot be negative");
        if (config.NumReplicas > MaxReplicas)
            return ApiError.InvalidConfig($"maximum replicas is {MaxReplicas}");
        if (config.NumReplicas > 1 && !node.IsCluster)
            return ApiError.ReplicasNotSupported;
        if (config.NumReplicas > 1 && config.Partitions > 1)
            return ApiError.InvalidConfig("replicated streams can not be partitioned yet");
        if (config.DuplicateWindow < 0)
            return ApiError.InvalidConfig("duplicates window can not be negative");
        if (config.Partitions is < 0 or > MaxPartitions)
            return ApiError.InvalidConfig($"stream partitions must be between 1 and {MaxPartitions}");
        // Interest and workqueue retention count acks against the stream's consumer list, which partition 0 keeps.
        // The copies are appended outside the replicated publish path, and one grain reads each origin.
        if (config.Partitions > 1 && (config.Mirror is not null || config.Sources is { Length: > 0 }))
            return ApiError.InvalidConfig("partitioned streams can not mirror or source yet");
        if (config.Partitions > 1 && config.Retention != RetentionPolicy.Limits)
            return ApiError.InvalidConfig("partitioned streams support limits retention only");
        return StreamSubjectRules.Check(config) ?? StreamConfigRules.Check(config);
    }

    /// <summary>
    /// Whether reserving <paramref name="bytes"/> more would take the streams' reservations (their max_bytes) past the
    /// server's limit for that storage, leaving out the reservation of <paramref name="except"/>, the stream being
    /// updated. Reservations, not stored bytes: a stream is promised its max_bytes whatever it holds today.
    /// </summary>
    private bool Exceeds(StorageType storage, long bytes, string? except)
    {
        long limit = store.Limits.For(storage);
        if (limit < 0)
            return false;
        long reserved = 0;
        foreach (var (name, other) in _streams)
            if (other.Config.Storage == storage && other.Config.MaxBytes > 0 && name != except)
                reserved += other.Config.MaxBytes;
        return reserved + bytes > limit;
    }

    private static ApiError NoRoom(StorageType storage)
        => storage == StorageType.Memory ? ApiError.MemoryResourcesExceeded : ApiError.StorageResourcesExceeded;

    private string? Overlapping(PlatformStreamConfig config)
    {
        foreach (var (name, other) in _streams)
        {
            if (name == config.Name)
                continue;
            foreach (var mine in config.Subjects)
                foreach (var theirs in other.Config.Subjects)
                    if (SubjectMatch.Overlaps(mine, theirs))
                        return name;
        }
        return null;
    }
}
