using System.Buffers;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Runtime;
using Platform.Gateway;
using Platform.Gateway.Cluster;
using Platform.Gateway.Routing;
using Platform.Gateway.Server;

namespace Platform.UnitTests.Cluster;

/// <summary>What a route sends for local interest changes, and what it makes of the interest and messages it receives.</summary>
public class RouteInterestTests
{
    private static int _nextSid;

    private static (NatsServer Server, Route Route) NewRoute(long maxPending = 64L * 1024 * 1024)
    {
        var server = new NatsServer(new NatsOptions { MaxPending = maxPending }, NullLoggerFactory.Instance);
        // Not started: nothing is sent, the frames stay in the outbox to be read here.
        var routes = new ClusterRoutes(server, null!, null!, null!, NullLogger<ClusterRoutes>.Instance);
        var route = new Route(routes, SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), 1));
        server.Interest.Attach(route);
        return (server, route);
    }

    /// <summary>A client subscription as the gateway makes it (the client itself is not needed to count interest).</summary>
    private static Subscription ClientSub(string subject, string? queue = null)
        => new(subject, queue, Encoding.ASCII.GetBytes(Interlocked.Increment(ref _nextSid).ToString()), null, null);

    /// <summary>Interest and reset frames as text: "subject[ queue]=weight" or "reset".</summary>
    private static List<string> Describe(ReadOnlyMemory<byte> batch)
    {
        var frames = new List<string>();
        int offset = 0;
        while (RouteFrames.TryRead(batch, ref offset, out var frame))
        {
            var queue = frame.Queues.IsEmpty ? "" : " " + Encoding.UTF8.GetString(frame.Queues.Span);
            frames.Add(frame.Kind == RouteFrames.Reset ? "reset" : $"{Encoding.UTF8.GetString(frame.Subject.Span)}{queue}={frame.Weight}");
        }
        return frames;
    }

    private static List<string> Sent(Route route)
    {
        var pending = route.Outbox.Take();
        var frames = Describe(pending.AsMemory());
        if (pending.Count > 0)
            route.Outbox.Release(pending);
        return frames;
    }

    [Fact]
    public void Plain_interest_is_sent_on_zero_to_one_and_back_queue_weights_on_every_change()
    {
        var (server, route) = NewRoute();
        var a = ClientSub("foo.*");
        var b = ClientSub("foo.*");
        server.Interest.Add(a);
        server.Interest.Add(b);
        server.Interest.Remove(a);
        Assert.Equal(["foo.*=1"], Sent(route));
        server.Interest.Remove(b);
        Assert.Equal(["foo.*=0"], Sent(route));

        var members = new[] { ClientSub("jobs", "w"), ClientSub("jobs", "w"), ClientSub("jobs", "w") };
        foreach (var member in members)
            server.Interest.Add(member);
        server.Interest.Remove(members[0]);
        Assert.Equal(["jobs w=1", "jobs w=2", "jobs w=3", "jobs w=2"], Sent(route));
    }

    [Fact]
    public void A_snapshot_is_a_reset_and_the_current_interest()
    {
        var (server, _) = NewRoute();
        var gone = ClientSub("gone");
        server.Interest.Add(ClientSub("x.>"));
        server.Interest.Add(ClientSub("x.>"));
        server.Interest.Add(ClientSub("jobs", "w"));
        server.Interest.Add(ClientSub("jobs", "w"));
        server.Interest.Add(gone);
        server.Interest.Remove(gone);
        var snapshot = Describe(server.Interest.Snapshot());
        Assert.Equal(["reset", "jobs w=2", "x.>=1"], [snapshot[0], .. snapshot.Skip(1).Order()]);
    }

    /// <summary>
    /// A delta that found the outbox full is lost; the resync must leave the peer with the current interest, not with the
    /// stale delta still queued before it.
    /// </summary>
    [Fact]
    public void After_a_lost_delta_the_peer_ends_with_the_current_interest()
    {
        // Room for three interest frames of a three-letter subject (12 bytes each), not four.
        var (server, route) = NewRoute(maxPending: 40);
        var foo = ClientSub("foo");
        server.Interest.Add(foo);
        server.Interest.Add(ClientSub("bar"));
        server.Interest.Add(ClientSub("baz"));
        server.Interest.Remove(foo);
        var (peer, fromServer) = NewRoute();
        fromServer.Receive(route.PendingThenSnapshot(), peer);
        Assert.True(peer.Router.Match("foo"u8).IsEmpty);
        Assert.False(peer.Router.Match("bar"u8).IsEmpty);
        Assert.False(peer.Router.Match("baz"u8).IsEmpty);
    }

    [Fact]
    public void Received_interest_becomes_weighted_route_subscriptions_until_a_reset()
    {
        var (server, route) = NewRoute();
        var local = ClientSub("jobs", "w");
        server.Router.Add(local);
        var frames = new byte[256];
        int p = RouteFrames.WriteInterest(frames, "jobs"u8, "w"u8, 3);
        p += RouteFrames.WriteInterest(frames.AsSpan(p), "jobs.>"u8, default, 1);
        route.Receive(frames.AsMemory(0, p), server);

        var group = Assert.Single(server.Router.Match("jobs"u8).QueueGroups);
        // One local member and the peer's three: a random pick sends three messages in four to the peer.
        Assert.Equal(4, group.Length);
        Assert.Equal(3, group.Count(s => s.Route == route));
        Assert.Same(route, Assert.Single(server.Router.Match("jobs.a"u8).Plain).Route);

        route.Receive(new[] { RouteFrames.Reset }, server);
        Assert.Same(local, Assert.Single(Assert.Single(server.Router.Match("jobs"u8).QueueGroups)));
        Assert.True(server.Router.Match("jobs.a"u8).IsEmpty);
    }

    [Fact]
    public void A_routed_message_reaches_no_internal_subscriber()
    {
        var (server, route) = NewRoute();
        var handler = new Recorder();
        server.Router.Add(new Subscription("$JS.API.>", null, [], null, handler));
        var frames = new byte[256];
        int p = RouteFrames.WriteMessage(frames, "$JS.API.INFO"u8, default, "_INBOX.x"u8, [], 0, new ReadOnlySequence<byte>("{}"u8.ToArray()));
        route.Receive(frames.AsMemory(0, p), server);
        Assert.Equal(0, handler.Calls);
        // The same message published on this silo does reach it: every silo serves its own API.
        server.Deliver("$JS.API.INFO"u8, "_INBOX.x"u8, 0, new ReadOnlySequence<byte>("{}"u8.ToArray()), null, null);
        Assert.Equal(1, handler.Calls);
    }

    /// <summary>
    /// An internal subscriber that publishes while the message is being delivered (on the same thread) must not make the
    /// message it got skip the silos it was bound for.
    /// </summary>
    [Fact]
    public void A_publish_made_during_a_delivery_leaves_the_outer_message_bound_for_its_silos()
    {
        var (server, route) = NewRoute();
        var frames = new byte[256];
        int p = RouteFrames.WriteInterest(frames, "req"u8, default, 1);
        p += RouteFrames.WriteInterest(frames.AsSpan(p), "answer"u8, default, 1);
        route.Receive(frames.AsMemory(0, p), server);
        // Added after the peer's interest, so it comes after the route entry in the match and answers mid-fanout.
        server.Router.Add(new Subscription("req", null, [], null, new Answerer(server)));
        server.Deliver("req"u8, default, 0, new ReadOnlySequence<byte>("q"u8.ToArray()), null, null);
        var pending = route.Outbox.Take();
        var subjects = new List<string>();
        int offset = 0;
        while (RouteFrames.TryRead(pending.AsMemory(), ref offset, out var frame))
            subjects.Add(Encoding.UTF8.GetString(frame.Subject.Span));
        Assert.Equal(["answer", "req"], subjects);
    }

    private sealed class Answerer(NatsServer server) : IInternalSubscriber
    {
        public void OnMessage(Subscription subscription, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength,
            in ReadOnlySequence<byte> message, NatsClient? publisher)
            => server.Deliver("answer"u8, default, 0, new ReadOnlySequence<byte>("a"u8.ToArray()), null, null);
    }

    private sealed class Recorder : IInternalSubscriber
    {
        public int Calls;

        public void OnMessage(Subscription subscription, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> reply, int headerLength,
            in ReadOnlySequence<byte> message, NatsClient? publisher) => Calls++;
    }
}
