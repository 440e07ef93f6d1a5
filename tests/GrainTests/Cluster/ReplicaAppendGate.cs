using Platform.Grains.Replication;

namespace Platform.GrainTests.Cluster;

/// <summary>
/// Holds the batches replica grains receive on chosen silos until released, as a slow replica (a busy disk, a long
/// pause) would: everything else about the silos and the calls is real. A hold shorter than the primary's call
/// timeout keeps the replica in sync.
/// </summary>
internal sealed class ReplicaAppendGate
{
    private readonly Lock _lock = new();
    private readonly HashSet<string> _held = new(StringComparer.Ordinal);
    private TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a batch reaches a held replica: the primary has stored it, since it ships only what it stored.</summary>
    public Task Arrived
    {
        get
        {
            lock (_lock)
                return _arrived.Task;
        }
    }

    public void Hold(string silo)
    {
        lock (_lock)
            _held.Add(silo);
    }

    public void Release()
    {
        TaskCompletionSource released;
        lock (_lock)
        {
            _held.Clear();
            released = _released;
            _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        released.TrySetResult();
    }

    /// <summary>The filter one silo runs on the calls it receives.</summary>
    public IIncomingGrainCallFilter FilterFor(string silo) => new Filter(this, silo);

    private Task PassAsync(string silo)
    {
        lock (_lock)
        {
            if (!_held.Contains(silo))
                return Task.CompletedTask;
            _arrived.TrySetResult();
            return _released.Task;
        }
    }

    private sealed class Filter(ReplicaAppendGate gate, string silo) : IIncomingGrainCallFilter
    {
        public async Task Invoke(IIncomingGrainCallContext context)
        {
            if (context.InterfaceMethod?.DeclaringType == typeof(IReplicaGrain) && context.InterfaceMethod.Name == nameof(IReplicaGrain.Append))
                await gate.PassAsync(silo);
            await context.Invoke();
        }
    }
}
