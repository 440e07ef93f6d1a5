using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Platform.Gateway.Cluster;

/// <summary>Places a grain on the silo its key names (<see cref="RouteGrain.KeyOf"/>), and nowhere else.</summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("platform.SiloPinnedPlacement")]
internal sealed class SiloPinnedPlacement : PlacementStrategy;

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class SiloPinnedPlacementAttribute() : PlacementAttribute(new SiloPinnedPlacement());

/// <summary>
/// Refuses, rather than places elsewhere, when the named silo is not an active member: a route grain elsewhere would
/// deliver to the wrong silo's clients.
/// </summary>
internal sealed class SiloPinnedPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString();
        var silo = SiloAddress.FromParsableString(key);
        foreach (var candidate in context.GetCompatibleSilos(target))
        {
            if (candidate.Equals(silo))
                return Task.FromResult(candidate);
        }
        throw new OrleansException($"Grain {target.GrainIdentity} is pinned to silo {silo}, which is not an active member");
    }
}
