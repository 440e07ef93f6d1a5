using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Platform.Grains.Cluster;
using Platform.Grains.Node;

namespace Platform.Grains.Replication;

/// <summary>
/// The primary's side of a durable consumer of a replicated stream, kept by its consumer grain: ships what the
/// consumer writes to its own store (each snapshot and the journal records after it) to the stream's in-sync replicas
/// at the stream's epoch, so a replica promoted to primary restores the consumer as a restart would.
/// </summary>
/// <remarks>
/// <para>One shipment runs at a time and carries everything written since the last one, so a busy consumer's acks
/// travel in batches, in the order they were journaled (a delivery before the acks of its messages); a durable ack
/// waits for the shipment that holds it (<see cref="WaitAsync"/>).</para>
/// <para>The replica set is this silo's catalog view: once it names another node as the stream's home, this consumer
/// was replaced and stops (<see cref="Fenced"/>); a replica that took a newer epoch refuses its shipments meanwhile.</para>
/// </remarks>
internal sealed class ConsumerReplication(string stream, string consumer, NodeIdentity node, CatalogView catalog, IGrainFactory grains,
    IClusterMembershipService membership, ILogger logger)
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    /// <summary>What a replica holds: the generation of its snapshot and the journal bytes after it (0: unknown).</summary>
    private sealed class Follower(IReplicaGrain grain)
    {
        public readonly IReplicaGrain Grain = grain;
        public ulong Generation;
        public long Length;
        /// <summary>When a shipment last reached it (<see cref="Stopwatch"/> ticks; 0: never).</summary>
        public long SeenAt;
    }

    private readonly Dictionary<string, Follower> _followers = new(StringComparer.Ordinal);
    private ulong _generation;
    private byte[]? _snapshot;
    /// <summary>The journal records written since <see cref="_snapshot"/>, as they are in the file.</summary>
    private byte[] _records = new byte[4096];
    private int _length;
    /// <summary>What every in-sync replica holds, at the last shipment that reached them all.</summary>
    private (ulong Generation, long Length) _confirmed;
    /// <summary>The epoch of the replica set that <see cref="_confirmed"/> reached: a newer set may name a replica without the state.</summary>
    private long _confirmedEpoch;
    private Task? _shipping;
    /// <summary>Completes when the next shipment to start is over: it carries everything written before it starts.</summary>
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The catalog gave the stream another home: this consumer must not deliver or take acks any more.</summary>
    public bool Fenced { get; private set; }

    /// <summary>Where the consumer's writes so far end; <see cref="WaitAsync"/> waits until replicas hold it.</summary>
    public (ulong Generation, long Length) Position => (_generation, _length);

    /// <summary>A new snapshot is on disk and the journal starts over after it.</summary>
    public void Snapshot(ulong generation, byte[] snapshot)
    {
        _generation = generation;
        _snapshot = snapshot;
        _length = 0;
        Ship();
    }

    /// <summary>A journal record is written.</summary>
    public void Journaled(ReadOnlySpan<byte> record)
    {
        if (_snapshot is null)
            return;
        if (_length + record.Length > _records.Length)
            Array.Resize(ref _records, Math.Max(_records.Length * 2, _length + record.Length));
        record.CopyTo(_records.AsSpan(_length));
        _length += record.Length;
        Ship();
    }

    /// <summary>Starts a shipment unless one runs (it ships what is new when it is over); also retries after a failure.</summary>
    public void Ship()
    {
        // A shipment that had nothing to await completed before it could be recorded as running.
        if (_shipping is not { IsCompleted: false } && !Fenced && Behind())
            _shipping = ShipLoopAsync();
    }

    /// <summary>Completes once every in-sync replica holds what was written up to <paramref name="position"/>; throws when a shipment fails.</summary>
    public async Task WaitAsync((ulong Generation, long Length) position)
    {
        while (!Covers(_confirmed, position))
        {
            if (Fenced)
                throw new StreamOfflineException(stream, "its consumers moved with its primary to another node");
            var next = _next.Task;
            Ship();
            await next;
        }
    }

    /// <summary>Removes the consumer from every in-sync replica; a replica that misses it keeps a copy it never serves unless promoted.</summary>
    public async Task DeleteAsync()
    {
        if (Current() is not { } set)
            return;
        var batch = new ConsumerReplicaBatch(set.Epoch, consumer, 0, null, 0, [], Deleted: true);
        foreach (var name in set.InSync)
        {
            try
            {
                await grains.GetGrain<IReplicaGrain>(ReplicaKey.Of(stream, name)).ApplyConsumer(batch).WaitAsync(CallTimeout);
            }
            catch (Exception ex)
            {
                logger.LogWarning("Replica {Node} of stream {Stream} did not delete consumer {Consumer}: {Reason}", name, stream, consumer, ex.Message);
            }
        }
    }

    /// <summary>
    /// The replicas as consumer info lists them: current when an in-sync replica holds everything this consumer wrote,
    /// active for the time since a shipment last reached it; null when this node does not serve the consumer.
    /// </summary>
    public ReplicaPeer[]? Peers()
    {
        if (Current() is not { } set)
            return null;
        var peers = new ReplicaPeer[set.Nodes.Length];
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < peers.Length; i++)
        {
            var name = set.Nodes[i];
            _followers.TryGetValue(name, out var follower);
            bool holds = follower is not null && follower.Generation == _generation && follower.Length == _length;
            var active = follower is { SeenAt: > 0 } ? Stopwatch.GetElapsedTime(follower.SeenAt, now) : TimeSpan.Zero;
            peers[i] = new ReplicaPeer(name, set.IsInSync(name) && holds, active, 0);
        }
        return peers;
    }

    private static bool Covers((ulong Generation, long Length) have, (ulong Generation, long Length) want)
        => have.Generation > want.Generation || have.Generation == want.Generation && have.Length >= want.Length;

    private bool Behind() => _snapshot is not null && (!Covers(_confirmed, Position) || Current() is { } set && set.Epoch != _confirmedEpoch);

    private async Task ShipLoopAsync()
    {
        try
        {
            while (!Fenced && Behind())
            {
                var round = _next;
                _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var target = Position;
                var set = Current();
                string? failure;
                try
                {
                    failure = set is null ? "the stream has no replica set here" : await ShipOnceAsync(set, target);
                }
                catch (Exception ex)
                {
                    failure = ex.Message;
                }
                if (failure is null)
                {
                    (_confirmed, _confirmedEpoch) = (target, set!.Epoch);
                    round.SetResult();
                    continue;
                }
                // Waiters of this shipment and of the next fail now rather than wait for a retry: a durable ack is an
                // error to its client, who sends it again; the state is shipped by the next write or the grain's timer.
                var error = new IOException($"consumer {stream}/{consumer} not replicated: {failure}");
                round.SetException(error);
                var next = _next;
                _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                next.SetException(error);
                logger.LogWarning("Consumer {Stream}/{Consumer}: state not replicated: {Reason}", stream, consumer, failure);
                return;
            }
            // Nothing is left to ship: whoever waits for a next shipment holds what it waits for (or was fenced).
            var idle = _next;
            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            idle.SetResult();
        }
        finally
        {
            _shipping = null;
        }
    }

    /// <summary>The stream's replica set while this node is its primary; null once it is not (then <see cref="Fenced"/>) or the stream is gone.</summary>
    private ReplicaSet? Current()
    {
        if (!catalog.TryGet(stream, out var entry) || entry.Replicas is null)
            return null;
        if (entry.HomeOf(0) != node.Name)
        {
            Fenced = true;
            return null;
        }
        return entry.Replicas;
    }

    /// <summary>Brings every in-sync replica to <paramref name="target"/>; null when they all hold it and are a quorum, else why not.</summary>
    private async Task<string?> ShipOnceAsync(ReplicaSet set, (ulong Generation, long Length) target)
    {
        if (set.InSync.Length + 1 < set.Quorum)
            return "no quorum of in-sync replicas";
        var calls = new List<(string Node, Task<bool> Call)>(set.InSync.Length);
        foreach (var name in set.InSync)
        {
            if (!_followers.TryGetValue(name, out var follower))
                _followers[name] = follower = new Follower(grains.GetGrain<IReplicaGrain>(ReplicaKey.Of(stream, name)));
            if (follower.Generation == target.Generation && follower.Length == target.Length)
                continue;
            calls.Add((name, membership.Find(name) is null ? Task.FromResult(false) : SendAsync(follower, set.Epoch, target)));
        }
        string? failed = null;
        foreach (var (name, call) in calls)
        {
            try
            {
                if (await call)
                    continue;
            }
            catch (Exception ex)
            {
                logger.LogDebug("Replica {Node} of stream {Stream} failed for consumer {Consumer}: {Reason}", name, stream, consumer, ex.Message);
            }
            _followers[name].Generation = 0;
            failed ??= $"replica {name} did not take it";
        }
        return failed;
    }

    /// <summary>The records the replica lacks, or the snapshot and every record when it holds another generation or refuses them.</summary>
    private async Task<bool> SendAsync(Follower follower, long epoch, (ulong Generation, long Length) target)
    {
        bool continues = follower.Generation == target.Generation && follower.Length <= target.Length;
        var ack = await follower.Grain.ApplyConsumer(Batch(epoch, target, continues ? follower.Length : 0, !continues)).WaitAsync(CallTimeout);
        if (!ack.Accepted && ack.Epoch <= epoch && continues)
        {
            // The replica lost its copy's place (it restarted): it starts over from the state as it is now, which holds
            // the target and may be past it.
            target = Position;
            ack = await follower.Grain.ApplyConsumer(Batch(epoch, target, 0, true)).WaitAsync(CallTimeout);
        }
        if (!ack.Accepted)
            return false;
        (follower.Generation, follower.Length) = target;
        follower.SeenAt = Stopwatch.GetTimestamp();
        return true;
    }

    private ConsumerReplicaBatch Batch(long epoch, (ulong Generation, long Length) target, long from, bool withSnapshot)
        => new(epoch, consumer, target.Generation, withSnapshot ? _snapshot : null, from, _records.AsSpan((int)from, (int)(target.Length - from)).ToArray(), false);
}
