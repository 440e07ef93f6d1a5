using Orleans.Runtime;
using Platform.Grains.Streams;

namespace Platform.GrainTests.Cluster;

/// <summary>
/// Deactivates a stream grain the way Orleans does when the silo that held its directory entry dies
/// (<see cref="DeactivationReasonCode.DirectoryFailure"/>), right after the next call it takes, and tells when a call
/// reaches a new activation of it afterwards. Killing a silo does this only to the grains whose entry it happened to
/// hold; this does it to the one a test names.
/// </summary>
internal sealed class DirectoryLoss
{
    private readonly Lock _lock = new();
    private string? _armed;
    private ActivationId? _lost;
    private TaskCompletionSource _cameBack = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a call reaches an activation of the armed grain other than the one that was deactivated.</summary>
    public Task CameBack
    {
        get
        {
            lock (_lock)
                return _cameBack.Task;
        }
    }

    public void Arm(string streamKey)
    {
        lock (_lock)
        {
            _armed = streamKey;
            _lost = null;
            _cameBack = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public IIncomingGrainCallFilter Filter => new LossFilter(this);

    private sealed class LossFilter(DirectoryLoss loss) : IIncomingGrainCallFilter
    {
        public async Task Invoke(IIncomingGrainCallContext context)
        {
            await context.Invoke();
            if (context.InterfaceMethod?.DeclaringType != typeof(IStreamGrain))
                return;
            var target = context.TargetContext;
            lock (loss._lock)
            {
                if (loss._armed != target.GrainId.Key.ToString())
                    return;
                if (loss._lost is null)
                {
                    loss._lost = target.ActivationId;
                    target.Deactivate(new DeactivationReason(DeactivationReasonCode.DirectoryFailure, "test: the silo holding its directory entry died"));
                }
                else if (loss._lost != target.ActivationId)
                {
                    loss._cameBack.TrySetResult();
                }
            }
        }
    }
}
