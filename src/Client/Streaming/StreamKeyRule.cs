using Orleans.Runtime;
using Platform.Grains.Client;

namespace Platform.Grains.Streaming;

/// <summary>
/// An Orleans stream <c>("&lt;namespace&gt;", "&lt;key&gt;")</c> is subject <c>&lt;namespace&gt;.&lt;key&gt;</c>: a key that
/// makes no valid subject (whitespace, an empty token, a wildcard token) could neither be stored nor be received by
/// NATS clients, so producing and subscribing both refuse it with the same reason.
/// </summary>
internal static class StreamKeyRule
{
    /// <exception cref="ArgumentException">The key does not make a valid subject.</exception>
    public static void Check(StreamId streamId)
    {
        if (PlatformStreams.InvalidSubject(LogQueueMapper.SubjectOf(streamId)) is { } problem)
            throw new ArgumentException($"Orleans stream key \"{streamId.GetKeyAsString()}\" cannot be carried by the platform stream provider: {problem}.",
                nameof(streamId));
    }
}
