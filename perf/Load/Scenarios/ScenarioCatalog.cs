namespace Platform.Load.Scenarios;

/// <summary>The scenarios by their command-line names.</summary>
internal static class ScenarioCatalog
{
    private static readonly Dictionary<string, Func<IScenario>> Factories = new(StringComparer.Ordinal)
    {
        ["pub"] = () => new CorePubScenario(),
        ["pubsub"] = () => new CorePubSubScenario(),
        ["reqrep"] = () => new RequestReplyScenario(),
        ["js-pub-async"] = () => new JsPubAsyncScenario(),
        ["js-pub-sync"] = () => new JsPubSyncScenario(),
        ["js-pubsub"] = () => new JsPubSubScenario(),
        ["js-consume"] = () => new JsConsumeScenario(),
        ["js-fetch"] = () => new JsConsumeScenario(fetch: true),
        ["js-push"] = () => new JsPushConsumeScenario(),
        ["js-push-ack"] = () => new JsPushConsumeScenario(explicitAcks: true),
        ["js-pub-partitioned"] = () => new JsPubAsyncScenario(partitioned: true),
    };

    public static IScenario? Find(string name) => Factories.TryGetValue(name, out var f) ? f() : null;
}
