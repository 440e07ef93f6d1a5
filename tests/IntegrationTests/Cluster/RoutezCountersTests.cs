using System.Text.Json;
using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;
using Platform.IntegrationTests.Monitoring;

namespace Platform.IntegrationTests.Cluster;

/// <summary>
/// /routez's per-route counters and subscriptions, run the same way against a 3-node nats-server cluster and three silo
/// processes: messages published on node 0 to a subscriber on node 1 are out_msgs/out_bytes on node 0's routes and
/// in_msgs/in_bytes on node 1's, and a plain and a queue subscription on node 1 are subscriptions on node 0's routes,
/// listed with subs=1, and two fewer once unsubscribed.
/// </summary>
public sealed class RoutezCountersTests(PostgresFixture fixture) : IClassFixture<PostgresFixture>
{
    private const int Messages = 1000;
    private const int Size = 100;

    [SkippableFact]
    public async Task Route_counters_and_subscriptions_count_as_in_a_nats_server_cluster()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        string expected;
        await using (var reference = await NatsServerCluster.StartAsync(3))
            expected = await ScriptAsync(reference.Urls, reference.HttpPorts);
        var silos = (await Task.WhenAll(
            ProcessCluster.StartNodeAsync(fixture.Postgres!, "routez", "a"),
            ProcessCluster.StartNodeAsync(fixture.Postgres!, "routez", "b"),
            ProcessCluster.StartNodeAsync(fixture.Postgres!, "routez", "c"))).ToList();
        string actual;
        try
        {
            await ProcessCluster.WaitForActiveAsync(fixture.Postgres!, "routez", ["a", "b", "c"], TimeSpan.FromSeconds(60));
            int[] ports = [.. silos.Select(s => s.HttpPort)];
            await ProcessCluster.WaitUntilAsync(async () => (await RoutesAsync(ports[0])).GetArrayLength() == 2
                    && (await RoutesAsync(ports[1])).GetArrayLength() == 2, TimeSpan.FromSeconds(30),
                async () => $"routes {await RoutesAsync(ports[0])}");
            actual = await ScriptAsync([.. silos.Select(s => s.Url)], ports);
        }
        finally
        {
            await ProcessCluster.DisposeAllAsync(silos);
        }
        Assert.Equal($"out {Messages}/{Messages * Size}, in {Messages}/{Messages * Size}, subscriptions -2 after unsubscribing, listed rz.plain rz.queue", expected);
        Assert.Equal(expected, actual);
    }

    private static async Task<string> ScriptAsync(IReadOnlyList<string> urls, IReadOnlyList<int> httpPorts)
    {
        await using var publisher = new NatsConnection(new NatsOpts { Url = urls[0] });
        await using var subscriber = new NatsConnection(new NatsOpts { Url = urls[1] });
        await publisher.ConnectAsync();
        await subscriber.ConnectAsync();
        long subsBefore = Sum(await RoutesAsync(httpPorts[0]), "subscriptions");

        await using var plain = await subscriber.SubscribeCoreAsync<byte[]>("rz.plain");
        await using var queue = await subscriber.SubscribeCoreAsync<byte[]>("rz.queue", queueGroup: "workers");
        await subscriber.PingAsync();
        // Interest reaches node 0 on its own schedule: wait until a publish there would reach the subscriber.
        await ProcessCluster.WaitUntilAsync(async () => Sum(await RoutesAsync(httpPorts[0]), "subscriptions") >= subsBefore + 2,
            TimeSpan.FromSeconds(10), async () => $"node 0 routes {await RoutesAsync(httpPorts[0])}");

        var outBefore = (Sum(await RoutesAsync(httpPorts[0]), "out_msgs"), Sum(await RoutesAsync(httpPorts[0]), "out_bytes"));
        var inBefore = (Sum(await RoutesAsync(httpPorts[1]), "in_msgs"), Sum(await RoutesAsync(httpPorts[1]), "in_bytes"));
        var payload = new byte[Size];
        for (int i = 0; i < Messages; i++)
            await publisher.PublishAsync("rz.plain", payload);
        await publisher.PingAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        for (int i = 0; i < Messages; i++)
            await plain.Msgs.ReadAsync(timeout.Token);

        // A silo counts a batch's messages after it delivered them: wait briefly for the count to catch up.
        long outMsgs = 0, outBytes = 0, inMsgs = 0, inBytes = 0;
        await ProcessCluster.WaitUntilAsync(async () =>
        {
            var from = await RoutesAsync(httpPorts[0]);
            var to = await RoutesAsync(httpPorts[1]);
            (outMsgs, outBytes) = (Sum(from, "out_msgs") - outBefore.Item1, Sum(from, "out_bytes") - outBefore.Item2);
            (inMsgs, inBytes) = (Sum(to, "in_msgs") - inBefore.Item1, Sum(to, "in_bytes") - inBefore.Item2);
            return outMsgs >= Messages && inMsgs >= Messages;
        }, TimeSpan.FromSeconds(5), () => Task.FromResult($"out {outMsgs}, in {inMsgs}"));

        var listed = new List<string>();
        foreach (var route in (await MonitorHttp.GetJsonAsync(httpPorts[0], "/routez?subs=1")).GetProperty("routes").EnumerateArray())
        {
            if (route.TryGetProperty("subscriptions_list", out var list))
                listed.AddRange(list.EnumerateArray().Select(s => s.GetString()!).Where(s => s.StartsWith("rz.", StringComparison.Ordinal)));
        }
        listed.Sort(StringComparer.Ordinal);

        // The client may add subscriptions of its own (an inbox) at any time, so the count is checked going down.
        long subsWith = Sum(await RoutesAsync(httpPorts[0]), "subscriptions");
        await plain.UnsubscribeAsync();
        await queue.UnsubscribeAsync();
        await subscriber.PingAsync();
        long subs = subsWith;
        await ProcessCluster.WaitUntilAsync(async () => (subs = Sum(await RoutesAsync(httpPorts[0]), "subscriptions")) <= subsWith - 2,
            TimeSpan.FromSeconds(10), () => Task.FromResult($"subscriptions {subs}, {subsWith} before the unsubscribes"));
        return $"out {About(outMsgs, Messages)}/{About(outBytes, Messages * Size)}, in {About(inMsgs, Messages)}/{About(inBytes, Messages * Size)}, "
               + $"subscriptions -{subsWith - subs} after unsubscribing, listed {string.Join(' ', listed)}";
    }

    /// <summary>
    /// <paramref name="expected"/> when <paramref name="count"/> is at least that and less than 10% over it, else the
    /// count itself: nats-server routes a few system events of its own (account connection counts, some 600 bytes
    /// each) while the script runs, which a counter of only the script's messages would miss.
    /// </summary>
    private static string About(long count, long expected)
        => count >= expected && count < expected * 11 / 10 ? $"{expected}" : $"{count}";

    private static async Task<JsonElement> RoutesAsync(int httpPort)
        => (await MonitorHttp.GetJsonAsync(httpPort, "/routez")).GetProperty("routes");

    private static long Sum(JsonElement routes, string field)
    {
        long sum = 0;
        foreach (var route in routes.EnumerateArray())
            sum += route.TryGetProperty(field, out var value) ? value.GetInt64() : 0;
        return sum;
    }
}
