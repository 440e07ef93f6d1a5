using System.Diagnostics;
using System.Text.Json;
using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;
using Platform.IntegrationTests.Monitoring;
using Xunit.Abstractions;

namespace Platform.IntegrationTests.Cluster;

/// <summary>
/// Three silo processes on loopback joined through a real PostgreSQL membership table: they become Active, advertise
/// each other to NATS clients (connect_urls), drop a silo killed with SIGKILL within failure detection, and its NATS
/// clients move to another silo. Each test has its own cluster name, so they share one database.
/// </summary>
public sealed class ClusterMembershipTests(PostgresFixture fixture, ITestOutputHelper output) : IClassFixture<PostgresFixture>
{
    private PostgresProcess Postgres => fixture.Postgres!;

    private Task<SiloProcess> StartNodeAsync(string cluster, string name, string? dataDirectory = null)
        => ProcessCluster.StartNodeAsync(Postgres, cluster, name, dataDirectory);

    private async Task<SiloProcess[]> StartClusterAsync(string cluster)
        => await Task.WhenAll(StartNodeAsync(cluster, "a"), StartNodeAsync(cluster, "b"), StartNodeAsync(cluster, "c"));

    private Task<List<string>> ActiveAsync(string cluster) => ProcessCluster.ActiveAsync(Postgres, cluster);

    /// <summary>connect_urls of the INFO a new connection to <paramref name="port"/> gets, sorted.</summary>
    private static async Task<List<string>> ConnectUrlsAsync(int port)
    {
        var (info, _) = await RawClient.ExchangeAsync(port, "PING\r\n");
        using var json = JsonDocument.Parse(info["INFO ".Length..]);
        if (!json.RootElement.TryGetProperty("connect_urls", out var urls))
            return [];
        return urls.EnumerateArray().Select(u => u.GetString()!).Order(StringComparer.Ordinal).ToList();
    }

    private static List<string> UrlsOf(params SiloProcess[] silos)
        => silos.Select(s => $"127.0.0.1:{s.Port}").Order(StringComparer.Ordinal).ToList();

    private static Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<Task<string>> describe)
        => ProcessCluster.WaitUntilAsync(condition, timeout, describe);

    private async Task WaitForAdvertisedAsync(SiloProcess[] silos, List<string> expected, TimeSpan timeout)
    {
        foreach (var silo in silos)
        {
            await WaitUntilAsync(async () => (await ConnectUrlsAsync(silo.Port)).SequenceEqual(expected), timeout,
                async () => $"silo on {silo.Port} advertises [{string.Join(", ", await ConnectUrlsAsync(silo.Port))}], expected [{string.Join(", ", expected)}]");
        }
    }

    /// <summary>A raw connection that has sent CONNECT with a given protocol and reads whole lines from then on.</summary>
    private sealed class LineClient : IDisposable
    {
        private readonly System.Net.Sockets.TcpClient _tcp;
        private readonly StreamReader _reader;
        private Task<string?>? _pending;

        private LineClient(System.Net.Sockets.TcpClient tcp, StreamReader reader, ulong clientId)
        {
            _tcp = tcp;
            _reader = reader;
            ClientId = clientId;
        }

        public ulong ClientId { get; }

        public static async Task<LineClient> ConnectAsync(int port, int protocol)
        {
            var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync("127.0.0.1", port);
            var reader = new StreamReader(tcp.GetStream(), System.Text.Encoding.ASCII);
            var info = (await reader.ReadLineAsync())!;
            using var json = JsonDocument.Parse(info["INFO ".Length..]);
            await tcp.GetStream().WriteAsync(System.Text.Encoding.ASCII.GetBytes($"CONNECT {{\"verbose\":false,\"protocol\":{protocol}}}\r\nPING\r\n"));
            Assert.Equal("PONG", await reader.ReadLineAsync());
            return new LineClient(tcp, reader, json.RootElement.GetProperty("client_id").GetUInt64());
        }

        /// <summary>The next line, or null when none comes within <paramref name="timeout"/> (the read stays pending).</summary>
        public async Task<string?> ReadLineAsync(TimeSpan timeout)
        {
            _pending ??= _reader.ReadLineAsync();
            if (await Task.WhenAny(_pending, Task.Delay(timeout)) != _pending)
                return null;
            var line = await _pending;
            _pending = null;
            return line;
        }

        public void Dispose() => _tcp.Dispose();
    }

    /// <summary>
    /// What a 3-node cluster shows a client and /varz, as comparable text: INFO's cluster name and connect_urls (the
    /// server's own first, then all the others), and /varz's connect_urls, cluster block and route count. Ports differ
    /// between the two systems, so they are checked here against <paramref name="clientPorts"/> and left out.
    /// </summary>
    private static async Task<string> ClusterShapeAsync(int infoPort, int varzPort, string cluster, int[] clientPorts)
    {
        var all = clientPorts.Select(p => $"127.0.0.1:{p}").Order(StringComparer.Ordinal).ToList();
        var (info, _) = await RawClient.ExchangeAsync(infoPort, "PING\r\n");
        using var json = JsonDocument.Parse(info["INFO ".Length..]);
        var urls = json.RootElement.GetProperty("connect_urls").EnumerateArray().Select(u => u.GetString()!).ToList();
        var varz = await MonitorHttp.GetJsonAsync(varzPort, "/varz");
        var block = varz.GetProperty("cluster");
        var clusterPort = block.GetProperty("cluster_port").GetInt32();
        var siloUrls = block.GetProperty("urls").EnumerateArray().Select(u => u.GetString()!).ToList();
        return string.Join("; ",
            $"info.cluster={json.RootElement.GetProperty("cluster").GetString() == cluster}",
            $"info.connect_urls own first={urls[0] == $"127.0.0.1:{infoPort}"} all={urls.Order(StringComparer.Ordinal).SequenceEqual(all)}",
            $"varz.connect_urls all={varz.GetProperty("connect_urls").EnumerateArray().Select(u => u.GetString()!).Order(StringComparer.Ordinal).SequenceEqual(all)}",
            $"varz.cluster name={block.GetProperty("name").GetString() == cluster} addr={block.GetProperty("addr").GetString()} port>0={clusterPort > 0}",
            $"varz.cluster.urls count={siloUrls.Count} own included={siloUrls.Contains($"127.0.0.1:{clusterPort}")}",
            $"varz.routes={varz.GetProperty("routes").GetInt32()}");
    }

    private static Task DisposeAllAsync(IEnumerable<SiloProcess> silos) => ProcessCluster.DisposeAllAsync(silos);

    [SkippableFact]
    public async Task Three_silos_become_active_in_postgres_and_advertise_each_other()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        var watch = Stopwatch.StartNew();
        var silos = await StartClusterAsync("three");
        try
        {
            output.WriteLine($"3 silos started in {watch.ElapsedMilliseconds} ms");
            await WaitUntilAsync(async () => (await ActiveAsync("three")).Count == 3, TimeSpan.FromSeconds(30),
                async () => $"active: {string.Join(", ", await ActiveAsync("three"))}");
            Assert.Equal(["a", "b", "c"], await ActiveAsync("three"));

            var all = UrlsOf(silos);
            await WaitForAdvertisedAsync(silos, all, TimeSpan.FromSeconds(15));
            output.WriteLine($"all advertised after {watch.ElapsedMilliseconds} ms");

            var shape = await ClusterShapeAsync(silos[0].Port, silos[1].HttpPort, "three", silos.Select(x => x.Port).ToArray());
            output.WriteLine($"silo cluster: {shape}");
            // What nats-server 2.9.10 shows for 3 nodes on loopback (compared live below when it is installed).
            Assert.Equal("info.cluster=True; info.connect_urls own first=True all=True; varz.connect_urls all=True; "
                + "varz.cluster name=True addr=127.0.0.1 port>0=True; varz.cluster.urls count=3 own included=True; varz.routes=2", shape);
            if (NatsServerProcess.ExecutablePath is not null)
            {
                // The same 3-node shape from nats-server itself (core only: a JetStream cluster would need its raft).
                var routePorts = new[] { SiloProcess.FreePort(), SiloProcess.FreePort(), SiloProcess.FreePort() };
                var routes = string.Join(",", routePorts.Select(p => $"nats://127.0.0.1:{p}"));
                var servers = new List<NatsServerProcess>();
                try
                {
                    for (int i = 0; i < 3; i++)
                        servers.Add(await NatsServerProcess.StartAsync(jetStream: false, monitoring: true,
                            "-n", $"n{i}", "--cluster_name", "three", "--cluster", $"nats://127.0.0.1:{routePorts[i]}", "--routes", routes));
                    await WaitUntilAsync(async () => (await MonitorHttp.GetJsonAsync(servers[1].HttpPort, "/varz")).GetProperty("routes").GetInt32() == 2
                            && (await ConnectUrlsAsync(servers[0].Port)).Count == 3,
                        TimeSpan.FromSeconds(15), () => Task.FromResult("nats-server routes did not form"));
                    var reference = await ClusterShapeAsync(servers[0].Port, servers[1].HttpPort, "three", servers.Select(x => x.Port).ToArray());
                    output.WriteLine($"nats-server cluster: {reference}");
                    Assert.Equal(reference, shape);
                }
                finally
                {
                    foreach (var server in servers)
                        await server.DisposeAsync();
                }
            }
        }
        finally
        {
            await DisposeAllAsync(silos);
        }
    }

    [SkippableFact]
    public async Task A_killed_silo_leaves_connect_urls_its_clients_fail_over_and_its_wiped_store_comes_back_as_new_data()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        var silos = (await StartClusterAsync("failover")).ToList();
        try
        {
            var (a, b, c) = (silos[0], silos[1], silos[2]);
            await WaitForAdvertisedAsync([a, b, c], UrlsOf(a, b, c), TimeSpan.FromSeconds(30));
            var dataIdBefore = NodeStoreTests.DataId(c.DataDirectory);

            // Given only c's URL, the client learns the others from INFO.
            await using var nats = new NatsConnection(new NatsOpts
            {
                Url = c.Url,
                Name = "failover",
                ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
                ReconnectWaitMax = TimeSpan.FromMilliseconds(300),
            });
            await nats.ConnectAsync();
            Assert.Equal(UrlsOf(a, b, c), nats.ServerInfo!.ClientConnectUrls!.Order(StringComparer.Ordinal).ToList());

            // Raw clients on a: the one that sent protocol 1 is told of the change at once (async INFO), the other is not.
            using var asyncInfo = await LineClient.ConnectAsync(a.Port, protocol: 1);
            using var noAsyncInfo = await LineClient.ConnectAsync(a.Port, protocol: 0);

            var watch = Stopwatch.StartNew();
            c.Kill();
            await WaitForAdvertisedAsync([a, b], UrlsOf(a, b), TimeSpan.FromSeconds(30));
            output.WriteLine($"killed silo dropped from connect_urls after {watch.ElapsedMilliseconds} ms");
            var line = await asyncInfo.ReadLineAsync(TimeSpan.FromSeconds(10));
            Assert.StartsWith("INFO ", line);
            using (var json = JsonDocument.Parse(line!["INFO ".Length..]))
            {
                Assert.Equal(UrlsOf(a, b), json.RootElement.GetProperty("connect_urls").EnumerateArray().Select(u => u.GetString()!).Order(StringComparer.Ordinal).ToList());
                Assert.Equal(asyncInfo.ClientId, json.RootElement.GetProperty("client_id").GetUInt64());
            }
            Assert.Null(await noAsyncInfo.ReadLineAsync(TimeSpan.FromMilliseconds(500)));
            await WaitUntilAsync(async () => (await ActiveAsync("failover")).SequenceEqual(["a", "b"]), TimeSpan.FromSeconds(30),
                async () => $"active: {string.Join(", ", await ActiveAsync("failover"))}");

            await WaitUntilAsync(() => Task.FromResult(nats.ConnectionState == NatsConnectionState.Open && nats.ServerInfo!.Port != c.Port),
                TimeSpan.FromSeconds(30), () => Task.FromResult($"client state {nats.ConnectionState} on port {nats.ServerInfo?.Port}"));
            Assert.Contains(nats.ServerInfo!.Port, new[] { a.Port, b.Port });
            output.WriteLine($"client reconnected to {nats.ServerInfo.Port} after {watch.ElapsedMilliseconds} ms");
            await using (var sub = await nats.SubscribeCoreAsync<string>("after.failover"))
            {
                await nats.PublishAsync("after.failover", "still here");
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                Assert.Equal("still here", (await sub.Msgs.ReadAsync(cts.Token)).Data);
            }

            // The same node name on a wiped store: a new data id, and a member again.
            Directory.Delete(c.DataDirectory, recursive: true);
            var restarted = await StartNodeAsync("failover", "c", c.DataDirectory);
            silos.Add(restarted);
            Assert.NotEqual(dataIdBefore, NodeStoreTests.DataId(restarted.DataDirectory));
            await restarted.AssertOutputContainsAsync("(new store)");
            await WaitForAdvertisedAsync([a, b, restarted], UrlsOf(a, b, restarted), TimeSpan.FromSeconds(30));
        }
        finally
        {
            await DisposeAllAsync(silos);
        }
    }

    /// <summary>
    /// A second node started under a name an active node holds, on a store of its own, stops with exit code 1 once
    /// failure detection would have declared a killed holder dead; the holder keeps serving. Before, both only logged.
    /// </summary>
    [SkippableFact]
    public async Task A_second_node_under_a_taken_name_stops_and_the_first_keeps_serving()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        var silos = new List<SiloProcess> { await StartNodeAsync("dupname", "a") };
        try
        {
            await WaitUntilAsync(async () => (await ActiveAsync("dupname")).SequenceEqual(["a"]), TimeSpan.FromSeconds(30),
                async () => $"active: {string.Join(", ", await ActiveAsync("dupname"))}");
            var second = await StartNodeAsync("dupname", "a");
            silos.Add(second);
            Assert.NotEqual(NodeStoreTests.DataId(silos[0].DataDirectory), NodeStoreTests.DataId(second.DataDirectory));

            Assert.True(await second.WaitForExitAsync(TimeSpan.FromSeconds(60)), "the second node named a is still running");
            Assert.Equal(1, second.ExitCode);
            Assert.Contains("Node name a is already used by active silo", second.Output);
            Assert.False(silos[0].HasExited);
            await using var nats = new NatsConnection(new NatsOpts { Url = silos[0].Url });
            await using var sub = await nats.SubscribeCoreAsync<string>("still.serving");
            await nats.PingAsync();
            await nats.PublishAsync("still.serving", "yes");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Assert.Equal("yes", (await sub.Msgs.ReadAsync(cts.Token)).Data);
        }
        finally
        {
            await DisposeAllAsync(silos);
        }
    }

    /// <summary>
    /// A route port set with --route_port is where the node listens for routes and what it advertises: a message
    /// published on the other node reaches a subscriber on this one through it. A connection to it that does not say
    /// hello for this cluster is closed, and the node keeps serving.
    /// </summary>
    [SkippableFact]
    public async Task A_fixed_route_port_carries_the_routes_and_refuses_strangers()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        int routePort = SiloProcess.FreePort();
        var silos = new List<SiloProcess>();
        try
        {
            silos.Add(await SiloProcess.StartAsync(jetStream: true, null, port: 0, ProcessCluster.FastFailureDetection,
                "-n", "a", "--cluster_name", "routeport", "--cluster_store", Postgres.Url, "--route_port", routePort.ToString()));
            silos.Add(await StartNodeAsync("routeport", "b"));
            await WaitUntilAsync(async () => (await ActiveAsync("routeport")).Count == 2, TimeSpan.FromSeconds(30),
                async () => $"active: {string.Join(", ", await ActiveAsync("routeport"))}");

            using (var stranger = new System.Net.Sockets.TcpClient())
            {
                await stranger.ConnectAsync("127.0.0.1", routePort);
                var stream = stranger.GetStream();
                var hello = System.Text.Encoding.UTF8.GetBytes("other-cluster\nS127.0.0.1:1:1");
                await stream.WriteAsync(BitConverter.GetBytes(hello.Length));
                await stream.WriteAsync(hello);
                using var closed = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                Assert.Equal(0, await stream.ReadAsync(new byte[1], closed.Token));
            }

            await using var onA = new NatsConnection(new NatsOpts { Url = silos[0].Url });
            await using var onB = new NatsConnection(new NatsOpts { Url = silos[1].Url });
            await using var sub = await onA.SubscribeCoreAsync<string>("via.fixed.port");
            await onA.PingAsync();
            await WaitUntilAsync(async () =>
                {
                    await onB.PublishAsync("via.fixed.port", "crossed");
                    using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                    try
                    {
                        return (await sub.Msgs.ReadAsync(wait.Token)).Data == "crossed";
                    }
                    catch (OperationCanceledException)
                    {
                        return false;
                    }
                }, TimeSpan.FromSeconds(20), () => Task.FromResult("nothing crossed from b to a"));
            Assert.False(silos[0].HasExited);
        }
        finally
        {
            await DisposeAllAsync(silos);
        }
    }
}
