using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Platform.Grains.Cluster;

/// <summary>
/// A grain keyed by a silo address (<see cref="SiloAddress.ToParsableString"/>) that lives on that silo only: how one
/// silo reaches a service of another (the catalog telling every silo of a change). A silo that is gone refuses it.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("platform.SiloPinnedPlacement")]
internal sealed class SiloPinnedPlacement : PlacementStrategy
{
    internal static readonly SiloPinnedPlacement Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class SiloPinnedPlacementAttribute() : PlacementAttribute(SiloPinnedPlacement.Instance);

internal sealed class SiloPinnedPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silo = SiloAddress.FromParsableString(target.GrainIdentity.Key.ToString()!);
        foreach (var compatible in context.GetCompatibleSilos(target))
            if (compatible.Equals(silo))
                return Task.FromResult(silo);
        throw new SiloUnavailableException($"Silo {silo} is not active.");
    }
}
