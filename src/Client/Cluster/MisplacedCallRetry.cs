using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Platform.Grains.Cluster;

/// <summary>
/// Sends a call again when it reached an activation that refused it for standing on a node that is not the stream's
/// home (<see cref="StreamOfflineException.Misplaced"/>). That happens right after a stream is deleted and created
/// again with its home elsewhere: a silo that called the old stream still has the grain located on the old home, and
/// Orleans activates it there on the next call without asking placement. The refused activation is gone when the
/// error returns and the location with it, so the call sent again is placed afresh, at the home. The refusal comes
/// before any of the grain's code runs, so sending again never runs a call twice.
/// </summary>
internal sealed class MisplacedCallRetry : IOutgoingGrainCallFilter
{
    // One stale location per silo and grain: a second send is placed afresh. The third covers a caller whose silo
    // located the grain through another silo's equally stale cache.
    private const int Sends = 3;

    public Task Invoke(IOutgoingGrainCallContext context)
    {
        var sent = context.Invoke();
        return sent.IsCompletedSuccessfully ? sent : CompleteAsync(sent, context);
    }

    private static async Task CompleteAsync(Task sent, IOutgoingGrainCallContext context)
    {
        for (int send = 1; ; send++)
        {
            try
            {
                await sent;
                return;
            }
            catch (StreamOfflineException refused) when (refused.Misplaced && send < Sends)
            {
                sent = context.Invoke();
            }
        }
    }

    /// <summary>Adds the filter to a silo's or a client's services, once however often it is asked for.</summary>
    internal static void AddTo(IServiceCollection services)
        => services.TryAddEnumerable(ServiceDescriptor.Singleton<IOutgoingGrainCallFilter, MisplacedCallRetry>());
}
