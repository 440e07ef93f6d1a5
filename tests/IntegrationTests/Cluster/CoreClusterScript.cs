using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Cluster;

/// <summary>
/// Core NATS across the nodes of a cluster, driven by NATS.Net clients on different nodes. Each step returns what the
/// clients observed as text, so the same step can run against silos and against routed nats-servers and be compared.
/// </summary>
/// <remarks>
/// Interest reaches other nodes asynchronously in both systems. A step that needs a subscription known on the
/// publisher's node first waits with <see cref="WaitForInterestAsync"/>: the subscriber's connection answers a probe
/// subscribed after its real subscriptions, and a node forwards interest from one node in order, so once the publisher's
/// node routes the probe it knows the earlier subscriptions too.
/// </remarks>
internal static class CoreClusterScript
{
    private static readonly TimeSpan Idle = TimeSpan.FromMilliseconds(400);

    public static async Task<NatsConnection> ConnectAsync(string url)
    {
        var connection = new NatsConnection(new NatsOpts { Url = url, MaxReconnectRetry = 0 });
        await connection.ConnectAsync();
        return connection;
    }

    /// <summary>Sub on two nodes with '*', '&gt;' and a literal, publish on a third.</summary>
    public static async Task<string> WildcardsAsync(ICoreCluster cluster)
    {
        await using var pub = await ConnectAsync(cluster.Urls[0]);
        await using var one = await ConnectAsync(cluster.Urls[1]);
        await using var two = await ConnectAsync(cluster.Urls[2]);
        await using var star = await one.SubscribeCoreAsync<string>("w.*");
        await using var full = await one.SubscribeCoreAsync<string>("w.>");
        await using var literal = await two.SubscribeCoreAsync<string>("w.a.b");
        await WaitForInterestAsync(pub, one);
        await WaitForInterestAsync(pub, two);
        foreach (var subject in new[] { "w.a", "w.a.b", "w.x.y.z", "x.a", "w" })
            await pub.PublishAsync(subject, subject);
        return $"w.*: {Join(await DrainAsync(star))} | w.>: {Join(await DrainAsync(full))} | w.a.b: {Join(await DrainAsync(literal))}";
    }

    /// <summary>
    /// UNSUB and auto-unsubscribe on one node withdraw the interest on the others: a request with no responders left
    /// anywhere gets the 503 status at once, which needs the publisher's node to know the subscription is gone.
    /// </summary>
    public static async Task<string> UnsubscribeAsync(ICoreCluster cluster)
    {
        await using var pub = await ConnectAsync(cluster.Urls[0]);
        await using var sub = await ConnectAsync(cluster.Urls[1]);
        var plain = await sub.SubscribeCoreAsync<string>("u.plain");
        var auto = await sub.SubscribeCoreAsync<string>("u.auto", opts: new NatsSubOpts { MaxMsgs = 3 });
        await WaitForInterestAsync(pub, sub);
        await pub.PublishAsync("u.plain", "before");
        var before = await DrainAsync(plain);
        await plain.UnsubscribeAsync();
        await sub.PingAsync();
        var afterUnsub = await NoRespondersAsync(pub, "u.plain");
        for (int i = 1; i <= 5; i++)
            await pub.PublishAsync("u.auto", i.ToString());
        var autoGot = await DrainAsync(auto);
        var afterAuto = await NoRespondersAsync(pub, "u.auto");
        return $"before unsub: {Join(before)} | after unsub: {afterUnsub} | auto-unsub 3 got: {Join(autoGot)} | after auto-unsub: {afterAuto}";
    }

    /// <summary>A queue group with two members on each node: each message reaches exactly one member in the cluster.</summary>
    public static async Task<string> QueueGroupAsync(ICoreCluster cluster, int messages = 300)
    {
        var connections = new List<NatsConnection>();
        var members = new List<(int Node, INatsSub<string> Sub)>();
        try
        {
            for (int node = 0; node < cluster.Urls.Count; node++)
            {
                var connection = await ConnectAsync(cluster.Urls[node]);
                connections.Add(connection);
                for (int m = 0; m < 2; m++)
                    members.Add((node, await connection.SubscribeCoreAsync<string>("q.work", queueGroup: "workers")));
            }
            var pub = connections[0];
            foreach (var connection in connections)
                await WaitForInterestAsync(pub, connection);
            for (int i = 0; i < messages; i++)
                await pub.PublishAsync("q.work", i.ToString());
            var seen = new Dictionary<string, int>();
            var nodes = new HashSet<int>();
            foreach (var (node, sub) in members)
            {
                foreach (var payload in await DrainAsync(sub))
                {
                    seen[payload] = seen.GetValueOrDefault(payload) + 1;
                    nodes.Add(node);
                }
            }
            int once = seen.Values.Count(n => n == 1);
            int more = seen.Values.Count(n => n > 1);
            return $"{messages} published: {once} delivered once, {more} more than once, {messages - seen.Count} lost; nodes with deliveries: {nodes.Count}";
        }
        finally
        {
            foreach (var (_, sub) in members)
                await sub.DisposeAsync();
            foreach (var connection in connections)
                await connection.DisposeAsync();
        }
    }

    /// <summary>
    /// Requests whose reply inbox was subscribed just before each request, with no wait in between: the responder's node
    /// must know the inbox by the time the request reaches it.
    /// </summary>
    public static async Task<string> FreshInboxRequestsAsync(ICoreCluster cluster, int requests = 20)
    {
        await using var requester = await ConnectAsync(cluster.Urls[0]);
        await using var responderConnection = await ConnectAsync(cluster.Urls[2]);
        await using var service = await responderConnection.SubscribeCoreAsync<string>("svc.echo");
        var responder = Task.Run(async () =>
        {
            await foreach (var msg in service.Msgs.ReadAllAsync())
                await msg.ReplyAsync("re:" + msg.Data);
        });
        await WaitForInterestAsync(requester, responderConnection);
        int answered = 0;
        for (int i = 0; i < requests; i++)
        {
            var inbox = $"_INBOX.fresh{i}.{Guid.NewGuid():N}";
            await using var replies = await requester.SubscribeCoreAsync<string>(inbox);
            await requester.PublishAsync("svc.echo", i.ToString(), replyTo: inbox);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            try
            {
                var reply = await replies.Msgs.ReadAsync(timeout.Token);
                if (reply.Data == "re:" + i)
                    answered++;
            }
            catch (OperationCanceledException)
            {
            }
        }
        await service.UnsubscribeAsync();
        await responder;
        return $"{answered}/{requests} answered";
    }

    /// <summary>One publisher's messages reach a subscriber on another node in publish order.</summary>
    public static async Task<string> OrderAsync(ICoreCluster cluster, int messages = 10_000)
    {
        await using var pub = await ConnectAsync(cluster.Urls[0]);
        await using var subConnection = await ConnectAsync(cluster.Urls[1]);
        await using var sub = await subConnection.SubscribeCoreAsync<int>("order.x");
        await WaitForInterestAsync(pub, subConnection);
        int expected = 0, outOfOrder = 0;
        var received = ReceiveAsync(sub, messages, data =>
        {
            if (data != expected)
                outOfOrder++;
            expected = data + 1;
        });
        for (int i = 0; i < messages; i++)
            await pub.PublishAsync("order.x", i);
        int got = await received;
        return $"{got}/{messages} received, {outOfOrder} out of order";
    }

    /// <summary>Reads until <paramref name="messages"/> arrived or 20 s passed, in the background; returns how many arrived.</summary>
    public static Task<int> ReceiveAsync<T>(INatsSub<T> sub, int messages, Action<T>? each = null) => Task.Run(async () =>
    {
        int count = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (count < messages)
            {
                var msg = await sub.Msgs.ReadAsync(timeout.Token);
                each?.Invoke(msg.Data!);
                count++;
            }
        }
        catch (OperationCanceledException)
        {
        }
        return count;
    });

    /// <summary>
    /// A node with a queue member stops: once the publisher's node has dropped that node's interest, every message goes
    /// to the member left; none is lost to the node that is gone.
    /// </summary>
    public static async Task<string> NodeStopAsync(ICoreCluster cluster, Func<Task>? beforeStop = null, int messages = 100)
    {
        await using var pub = await ConnectAsync(cluster.Urls[0]);
        var leaving = await ConnectAsync(cluster.Urls[1]);
        await using var staying = await ConnectAsync(cluster.Urls[2]);
        var gone = await leaving.SubscribeCoreAsync<string>("stop.work", queueGroup: "g");
        await using var left = await staying.SubscribeCoreAsync<string>("stop.work", queueGroup: "g");
        await WaitForInterestAsync(pub, leaving);
        await WaitForInterestAsync(pub, staying);
        if (beforeStop is not null)
            await beforeStop();
        await cluster.StopNodeAsync(1);
        await gone.DisposeAsync();
        await leaving.DisposeAsync();
        // Probe until a whole round reaches the member left: until then some messages go to the stopped node.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        int round = 0;
        while (true)
        {
            for (int i = 0; i < 20; i++)
                await pub.PublishAsync("stop.work", $"probe{round}");
            int got = (await DrainAsync(left)).Count;
            if (got == 20)
                break;
            if (DateTime.UtcNow > deadline)
                return $"the stopped node still gets messages after 20 s ({got}/20 in the last round)";
            round++;
        }
        for (int i = 0; i < messages; i++)
            await pub.PublishAsync("stop.work", i.ToString());
        return $"after the stop: {(await DrainAsync(left)).Count}/{messages} reach the member left";
    }

    /// <summary>Waits until <paramref name="publisher"/>'s node routes to <paramref name="subscriber"/>'s node what it subscribed so far.</summary>
    public static async Task WaitForInterestAsync(NatsConnection publisher, NatsConnection subscriber)
    {
        var probe = $"probe.{Guid.NewGuid():N}";
        await using var sub = await subscriber.SubscribeCoreAsync<string>(probe);
        var answering = Task.Run(async () =>
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync())
                await msg.ReplyAsync("here");
        });
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                await publisher.RequestAsync<string, string>(probe, "?", replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromMilliseconds(500) });
                break;
            }
            catch (Exception ex) when (ex is NatsNoRespondersException or NatsNoReplyException or TimeoutException)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"interest in {probe} did not reach the publisher's node", ex);
                await Task.Delay(20);
            }
        }
        await sub.UnsubscribeAsync();
        await answering;
    }

    /// <summary>Whether a request on <paramref name="subject"/> gets the no-responders status within 5 s of retries.</summary>
    private static async Task<string> NoRespondersAsync(NatsConnection publisher, string subject)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                await publisher.RequestAsync<string, string>(subject, "?", replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromMilliseconds(300) });
            }
            catch (NatsNoRespondersException)
            {
                return "no responders";
            }
            catch (Exception ex) when (ex is NatsNoReplyException or TimeoutException)
            {
            }
        }
        return "still routed";
    }

    /// <summary>What a subscription receives until nothing more arrives for a moment.</summary>
    private static async Task<List<string>> DrainAsync<T>(INatsSub<T> sub)
    {
        var messages = new List<string>();
        while (true)
        {
            using var idle = new CancellationTokenSource(Idle);
            try
            {
                var msg = await sub.Msgs.ReadAsync(idle.Token);
                messages.Add(msg.Data?.ToString() ?? "");
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
            {
                // Closed: an auto-unsubscribe reached its count.
                return messages;
            }
        }
    }

    private static string Join(List<string> items) => string.Join(" ", items);
}
