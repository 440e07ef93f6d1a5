using System.Buffers;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Platform.Gateway.Routing;
using Platform.Gateway.Server;

namespace Platform.Gateway.Cluster;

/// <summary>
/// The link to one other silo, both ways: what this silo sends there (messages its clients published that the peer
/// has interest in, and this silo's interest changes) and the interest the peer announced here, kept as route
/// subscriptions in the subject router so a publish is matched once for local and remote subscribers alike.
/// </summary>
/// <remarks>
/// The route's connection (<see cref="RouteTransport"/>) is one ordered stream, as nats-server's route connection is,
/// and that is what makes request/reply work: a requester's SUB of a new inbox is written into the responder silo's
/// outbox before the request is, so the responder's silo knows the inbox when it delivers the request. Frames
/// accumulate in the outbox while a batch is being written, and the next write carries all of them.
/// </remarks>
internal sealed class Route
{
    /// <summary>
    /// Past this (an eighth of max_pending, which bounds a route as it does a client, as in nats-server), publishers
    /// wait at the end of their read for the route to take a batch; past max_pending messages are dropped.
    /// </summary>
    private readonly long _highWater;

    private readonly ClusterRoutes _routes;
    private readonly Dictionary<string, Subscription> _remote = new(StringComparer.Ordinal);
    private volatile bool _resync = true;
    private volatile bool _closed;
    private Task _sender = Task.CompletedTask;
    private readonly object _roomGate = new();
    private TaskCompletionSource? _room;

    public Route(ClusterRoutes routes, SiloAddress silo)
    {
        _routes = routes;
        Silo = silo;
        long maxPending = routes.Server.Options.MaxPending;
        // The send loop wakes on the publisher's thread at the end of its read and starts the call from there: one
        // thread-pool hop less on every message's way to the peer (see SendLoopAsync).
        Outbox = new OutboundBuffer(maxPending, wakeInline: true);
        _highWater = maxPending / 8;
        _backlogged = maxPending * 3 / 4;
    }

    public SiloAddress Silo { get; }
    public OutboundBuffer Outbox { get; }
    /// <summary>Messages dropped because the outbox was full, since the last batch reported them.</summary>
    private long _dropped;
    private long _inMsgs, _inBytes;
    private readonly HashSet<OutboundBuffer> _touched = [];
    // Clients a batch left with more than this waiting, and the longest the connection's reader waits for them.
    private readonly long _backlogged;
    private readonly List<OutboundBuffer> _behind = [];
    private static readonly TimeSpan MaxStall = TimeSpan.FromSeconds(1);

    /// <summary>Messages the peer sent on this route (/routez in_msgs), counted once per batch.</summary>
    public long InMsgs => Interlocked.Read(ref _inMsgs);

    /// <summary>Their bytes, headers and payload as nats-server counts a route's in_bytes.</summary>
    public long InBytes => Interlocked.Read(ref _inBytes);

    /// <summary>Messages written for the peer (out_msgs): the outbox counts them as it appends.</summary>
    public long OutMsgs => Outbox.Messages;

    public long OutBytes => Outbox.MessageBytes;

    /// <summary>The subjects the peer announced interest in, as route subscriptions here (/routez subscriptions).</summary>
    public int Subscriptions
    {
        get { lock (_remote) return _remote.Count; }
    }

    /// <summary>Those subscriptions' subjects, for /routez?subs=1.</summary>
    public string[] SubscriptionSubjects()
    {
        lock (_remote)
        {
            var subjects = new string[_remote.Count];
            int i = 0;
            foreach (var sub in _remote.Values)
                subjects[i++] = sub.Subject;
            return subjects;
        }
    }

    public void Start() => _sender = Task.Run(SendLoopAsync);

    /// <summary>Whether the frames waiting for this route are past the high-water mark.</summary>
    public bool Congested => Outbox.PendingBytes > _highWater;

    /// <summary>
    /// Completes once the route is below its high-water mark (or closed). A publisher's read loop awaits it, as
    /// nats-server stalls a producer whose messages a slow connection cannot take, so a fast publisher slows down to
    /// what the peer takes rather than losing messages.
    /// </summary>
    public Task WaitForRoomAsync()
    {
        lock (_roomGate)
        {
            if (_closed || !Congested)
                return Task.CompletedTask;
            return (_room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    private void SignalRoom()
    {
        TaskCompletionSource? room;
        lock (_roomGate)
        {
            if (!_closed && Congested)
                return;
            room = _room;
            _room = null;
        }
        room?.TrySetResult();
    }

    /// <summary>
    /// Stops sending and drops everything the peer announced: its clients are gone with it. A call still in flight ends
    /// on its own (<see cref="Sender"/>); membership changes do not wait for it.
    /// </summary>
    public void Close()
    {
        _closed = true;
        Outbox.Close();
        SignalRoom();
        DropRemoteInterest();
    }

    /// <summary>The send loop, which ends after <see cref="Close"/> once its call in flight returns.</summary>
    public Task Sender => _sender;

    /// <summary>Appends one message for the peer; called on the publisher's read loop.</summary>
    public bool TrySend(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> visible, ReadOnlySpan<byte> reply, ReadOnlySpan<byte[]> queues,
        int headerLength, in ReadOnlySequence<byte> message)
    {
        if (_closed)
            return false;
        int size = RouteFrames.MessageSize(subject.Length, visible.Length, reply.Length, queues, message.Length);
        var span = Outbox.BeginFrame(size);
        if (span.IsEmpty)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }
        int written = RouteFrames.WriteMessage(span, subject, visible, reply, queues, headerLength, message);
        Outbox.EndFrame(written, isMessage: true, (int)message.Length);
        return true;
    }

    /// <summary>
    /// Appends an interest change; called under <see cref="LocalInterest"/>'s lock, so deltas keep its order. The send
    /// loop is woken with <see cref="OutboundBuffer.Signal"/> after that lock is released.
    /// </summary>
    public void SendInterest(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> queue, int weight)
    {
        if (_closed)
            return;
        var span = Outbox.BeginFrame(RouteFrames.InterestSize(subject.Length, queue.Length));
        if (span.IsEmpty)
        {
            // A lost delta would leave the peer's view wrong for good: the next batch resends all of it instead.
            _resync = true;
            return;
        }
        Outbox.EndFrame(RouteFrames.WriteInterest(span, subject, queue, weight), isMessage: false, 0);
    }

    /// <remarks>
    /// The outbox wakes this loop inline (<see cref="OutboundBuffer"/>'s wakeInline), so after a wait it may be running on
    /// the signaling thread. A publisher's read loop is a plain thread-pool thread, and the send starts right there; any
    /// other context (a grain turn, a synchronization context) is left at once for the thread pool, so no turn runs
    /// route sends and no continuation of this loop is ever captured by one. Every await is ConfigureAwait(false) for
    /// the same reason. A connection that fails loses what it was sending, as a broken nats-server route does; the next
    /// connection starts with a reset and a snapshot of this silo's interest, so the peer's view never drifts.
    /// </remarks>
    private async Task SendLoopAsync()
    {
        RouteConnection? connection = null;
        int failures = 0;
        try
        {
            while (!_closed)
            {
                if (connection is null)
                {
                    try
                    {
                        connection = await _routes.ConnectAsync(Silo).ConfigureAwait(false);
                        _resync = true;
                    }
                    catch (Exception ex)
                    {
                        if (_closed)
                            break;
                        await BackOffAsync(ex, ++failures).ConfigureAwait(false);
                        continue;
                    }
                }
                if (_resync)
                {
                    _resync = false;
                    try
                    {
                        await connection.SendAsync(PendingThenSnapshot()).ConfigureAwait(false);
                        SignalRoom();
                        failures = 0;
                    }
                    catch (Exception ex)
                    {
                        connection = Drop(connection);
                        if (_closed)
                            break;
                        await BackOffAsync(ex, ++failures).ConfigureAwait(false);
                    }
                    continue;
                }
                bool more = await Outbox.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                // Closing completes the wait under the outbox's lock, inline: nothing more is sent then anyway.
                if (_closed)
                    break;
                if (!OnPlainThreadPool())
                    await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
                var pending = Outbox.Take();
                if (pending.Count == 0)
                {
                    if (!more)
                        break;
                    continue;
                }
                try
                {
                    await connection.SendAsync(pending).ConfigureAwait(false);
                    Outbox.Release(pending);
                    SignalRoom();
                    failures = 0;
                    if (Interlocked.Exchange(ref _dropped, 0) is var dropped and > 0)
                        _routes.Logger.LogWarning("Route to {Silo}: {Dropped} messages dropped, the route was full", Silo, dropped);
                }
                catch (Exception ex)
                {
                    // The socket may still be reading from the buffer of a send it gave up on, so it is not reused.
                    Outbox.Release(pending, reuse: false);
                    SignalRoom();
                    connection = Drop(connection);
                    if (_closed)
                        break;
                    await BackOffAsync(ex, ++failures).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            connection?.Dispose();
        }
    }

    private static RouteConnection? Drop(RouteConnection connection)
    {
        connection.Dispose();
        return null;
    }

    /// <summary>Whether this is a thread-pool thread outside any grain turn (a turn runs under its activation's scheduler).</summary>
    private static bool OnPlainThreadPool()
        => Thread.CurrentThread.IsThreadPoolThread && SynchronizationContext.Current is null
           && TaskScheduler.Current == TaskScheduler.Default;

    /// <summary>
    /// What the outbox holds, then a reset and the current interest. The snapshot is taken after the frames it follows,
    /// so it supersedes every delta among them, including a stale one whose successor was lost (an outbox that was full,
    /// a failed call); deltas written after it follow it in the next batch.
    /// </summary>
    internal byte[] PendingThenSnapshot()
    {
        var pending = Outbox.Take();
        var snapshot = _routes.Server.Interest.Snapshot();
        if (pending.Count == 0)
            return snapshot;
        byte[] frames = [.. pending.AsSpan(), .. snapshot];
        Outbox.Release(pending);
        return frames;
    }

    /// <summary>Waits longer after each failure in a row (up to a second); only the first of a row is a warning.</summary>
    private async Task BackOffAsync(Exception ex, int failures)
    {
        _routes.Logger.Log(failures == 1 ? LogLevel.Warning : LogLevel.Debug,
            "Route to {Silo}: the connection failed ({Error}); reconnecting and resending interest", Silo, ex.Message);
        await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 50 * failures))).ConfigureAwait(false);
    }

    /// <summary>Applies a batch the peer sent: interest first as it comes, messages to local subscribers only.</summary>
    /// <remarks>
    /// One connection's reader applies its batches one at a time; the lock only matters when the peer reconnects
    /// while the old connection's reader is still applying a batch, so the two never interleave.
    /// </remarks>
    public void Receive(ReadOnlyMemory<byte> frames, NatsServer server)
    {
        lock (_touched)
            ReceiveLocked(frames, server);
    }

    private void ReceiveLocked(ReadOnlyMemory<byte> frames, NatsServer server)
    {
        // The writers of every client this batch reached are woken once each at its end: one set serves every batch.
        var touched = _touched;
        int offset = 0;
        long messages = 0, bytes = 0;
        while (RouteFrames.TryRead(frames, ref offset, out var frame))
        {
            switch (frame.Kind)
            {
                case RouteFrames.Reset:
                    DropRemoteInterest();
                    break;
                case RouteFrames.Interest:
                    ApplyInterest(frame.Subject.Span, frame.Queues.Span, frame.Weight, server);
                    break;
                case RouteFrames.Message:
                    messages++;
                    bytes += frame.Body.Length;
                    server.DeliverRouted(frame.Subject.Span, frame.VisibleSubject.Span, frame.Reply.Span, frame.Queues.Span,
                        frame.HeaderLength, new ReadOnlySequence<byte>(frame.Body), touched);
                    break;
            }
        }
        foreach (var outbound in touched)
        {
            if (outbound.PendingBytes > _backlogged)
                _behind.Add(outbound);
        }
        OutboundBuffer.SignalAll(touched);
        if (messages > 0)
        {
            Interlocked.Add(ref _inMsgs, messages);
            Interlocked.Add(ref _inBytes, bytes);
        }
    }

    /// <summary>
    /// Waits, after a batch reached clients that are behind (more than three quarters of max_pending waiting), until
    /// they are down to half or <see cref="MaxStall"/> passed, as nats-server stalls a producer whose consumers are
    /// falling behind. The connection's reader does not read meanwhile, so the peer's writes and then its publishers
    /// slow down to what the clients here take (the route's own backpressure) instead of their messages being dropped
    /// here. A client still behind after the stall is left to the slow-consumer rule.
    /// </summary>
    public async ValueTask WaitForClientsAsync()
    {
        OutboundBuffer[] behind;
        lock (_touched)
        {
            if (_behind.Count == 0)
                return;
            behind = [.. _behind];
            _behind.Clear();
        }
        long deadline = Environment.TickCount64 + (long)MaxStall.TotalMilliseconds;
        foreach (var outbound in behind)
        {
            while (outbound.PendingBytes > _backlogged * 2 / 3 && !_closed && Environment.TickCount64 < deadline)
                await Task.Delay(1).ConfigureAwait(false);
        }
    }

    private void ApplyInterest(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> queue, int weight, NatsServer server)
    {
        var key = LocalInterest.KeyOf(subject, queue.IsEmpty ? null : System.Text.Encoding.Latin1.GetString(queue));
        lock (_remote)
        {
            if (_closed)
                return;
            if (_remote.TryGetValue(key, out var existing))
            {
                if (weight > 0 && existing.Weight == weight)
                    return;
                _remote.Remove(key);
                server.Router.Remove(existing);
            }
            if (weight <= 0)
                return;
            var sub = new Subscription(subject, queue, weight, this);
            _remote[key] = sub;
            server.Router.Add(sub);
        }
    }

    private void DropRemoteInterest()
    {
        lock (_remote)
        {
            foreach (var sub in _remote.Values)
            {
                sub.Closed = true;
                _routes.Server.Router.Remove(sub);
            }
            _remote.Clear();
        }
    }
}
