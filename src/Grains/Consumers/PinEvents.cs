namespace Platform.Grains.Consumers;

/// <summary>
/// The pin changes of the pinned_client consumers whose grains run on this silo, passed to the gateway here, which
/// publishes them as nats-server's pinned and unpinned advisories. A pin times out inside the grain, with no request
/// to carry the news out, hence a listener rather than a value returned to a caller.
/// </summary>
internal sealed class PinEvents
{
    internal interface IListener
    {
        void Pinned(string stream, string consumer, string group, string pinId);

        /// <param name="reason">nats-server's words: "timeout" or "admin" (the unpin API).</param>
        void Unpinned(string stream, string consumer, string group, string reason);
    }

    private volatile IListener? _listener;

    public void Attach(IListener listener) => _listener = listener;

    public void Pinned(string stream, string consumer, string group, string pinId) => _listener?.Pinned(stream, consumer, group, pinId);

    public void Unpinned(string stream, string consumer, string group, string reason) => _listener?.Unpinned(stream, consumer, group, reason);
}
