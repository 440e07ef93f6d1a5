using Orleans.Runtime;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Platform.IntegrationTests.Orleans;

/// <summary>A user's own grain in a silo that hosts the platform (PlatformHostingTests).</summary>
[Alias("tests.ICoHostedRoomGrain")]
public interface ICoHostedRoomGrain : IGrainWithStringKey
{
    [Alias("Readings")] Task<string[]> Readings();

    /// <summary>Produces <paramref name="text"/> on the Orleans stream ("cohosted-alerts", this room).</summary>
    [Alias("Alert")] Task Alert(string text);
}

/// <summary>Subscribed implicitly to namespace "cohosted": each room's readings, with their stream sequences.</summary>
[ImplicitStreamSubscription(CoHostedRoomGrain.Readings)]
public sealed class CoHostedRoomGrain : Grain, ICoHostedRoomGrain, IStreamSubscriptionObserver
{
    public const string Readings = "cohosted";
    public const string Alerts = "cohosted-alerts";

    private readonly List<string> _readings = [];

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<string>().ResumeAsync((reading, token) =>
        {
            _readings.Add($"#{token!.SequenceNumber} {reading}");
            return Task.CompletedTask;
        });

    Task<string[]> ICoHostedRoomGrain.Readings() => Task.FromResult(_readings.ToArray());

    public Task Alert(string text) =>
        this.GetStreamProvider("platform").GetStream<string>(StreamId.Create(Alerts, this.GetPrimaryKeyString())).OnNextAsync(text);
}
