using Platform.Grains.Replication;

namespace Platform.GrainTests.Cluster;

/// <summary>
/// Makes the replica grains on chosen silos answer a fence as a damaged copy does (<see cref="ReplicaAck.Damaged"/>),
/// their logs untouched: what the catalog and a primary do with such a copy, apart from how damage is found (the
/// cluster process tests and the storage tests flip real bits for that).
/// </summary>
internal sealed class DamagedReplicaAnswers
{
    private readonly Lock _lock = new();
    private readonly HashSet<string> _damaged = new(StringComparer.Ordinal);

    public void Damage(string silo)
    {
        lock (_lock)
            _damaged.Add(silo);
    }

    public void Clear()
    {
        lock (_lock)
            _damaged.Clear();
    }

    private bool IsDamaged(string silo)
    {
        lock (_lock)
            return _damaged.Contains(silo);
    }

    /// <summary>The filter one silo runs on the calls it receives.</summary>
    public IIncomingGrainCallFilter FilterFor(string silo) => new Filter(this, silo);

    private sealed class Filter(DamagedReplicaAnswers answers, string silo) : IIncomingGrainCallFilter
    {
        public async Task Invoke(IIncomingGrainCallContext context)
        {
            await context.Invoke();
            if (context.InterfaceMethod?.DeclaringType == typeof(IReplicaGrain) && context.InterfaceMethod.Name == nameof(IReplicaGrain.Fence)
                && context.Result is ReplicaAck ack && answers.IsDamaged(silo))
                context.Result = ack with { Damaged = true };
        }
    }
}
