using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Security;

/// <summary>
/// authorization.users with publish/subscribe permissions from a nats-server config file: the same file given to
/// nats-server and to the silo, the same raw scripts, the same answers; and the violations as NATS.Net sees them.
/// </summary>
public sealed class PermissionsTests
{
    private const string Config = """
        authorization {
          users = [
            # publish: allow and deny; subscribe: a single string (the allow list)
            {user: a, password: b, permissions: { publish: { allow: ["x.>", "_INBOX.>"], deny: ["x.secret"] }, subscribe: "y.*" }}
            # publish: a list; subscribe: deny only
            {user: c, password: d, permissions: { publish: ["p.*"], subscribe: { deny: ["z.>"] } }}
            # no permissions at all
            {user: e, password: f}
            # may publish only to "req" and, once each, to the reply subjects of requests it received
            {user: r, password: s, permissions: { publish: "req", subscribe: ">", allow_responses: true }}
            # allow_responses without publish permissions: nothing but replies
            {user: k, password: l, permissions: { subscribe: ">", allow_responses: { max: 2, expires: "1m" } }}
            # for NATS.Net, which subscribes to its _INBOX on connect
            {user: n, password: o, permissions: { publish: { deny: "x.secret" }, subscribe: ["_INBOX.>", "y.>"] }}
          ]
        }
        """;

    private static string Connect(string user, string pass, bool verbose = false)
        => "CONNECT {\"verbose\":" + (verbose ? "true" : "false") + ",\"pedantic\":false,\"headers\":true,\"user\":\"" + user + "\",\"pass\":\"" + pass + "\"}\r\n";

    public static TheoryData<string, string> Scripts => new()
    {
        { "denied publish", Connect("a", "b") + "PUB x.secret 2\r\nhi\r\nPING\r\n" },
        { "denied publish outside allow", Connect("a", "b") + "PUB z 2\r\nhi\r\nPING\r\n" },
        { "allowed publish, seen by own allowed sub", Connect("a", "b") + "SUB y.a 1\r\nPUB x.ok 2\r\nhi\r\nPUB y.a 2\r\nhi\r\nPING\r\n" },
        { "denied hpub", Connect("a", "b") + "HPUB x.secret 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n" },
        { "wildcard publish subjects match literally", Connect("a", "b") + "PUB x.> 2\r\nhi\r\nPUB x.* 2\r\nhi\r\nPING\r\n" },
        { "denied subscribe", Connect("a", "b") + "SUB z 1\r\nPING\r\n" },
        { "denied queue subscribe", Connect("a", "b") + "SUB z q 1\r\nPING\r\n" },
        { "allowed subscribes", Connect("a", "b") + "SUB y.a 1\r\nSUB y.* 2\r\nSUB y.> 3\r\nSUB y.a.b 4\r\nPING\r\n" },
        { "verbose: no +OK for violations", Connect("a", "b", verbose: true) + "PUB x.secret 2\r\nhi\r\nSUB z 1\r\nPUB x.ok 2\r\nhi\r\nPING\r\n" },
        { "publish list", Connect("c", "d") + "PUB p.a 2\r\nhi\r\nPUB p.a.b 2\r\nhi\r\nPING\r\n" },
        { "subscribe deny", Connect("c", "d") + "SUB z.* 1\r\nSUB > 2\r\nSUB z 3\r\nSUB z.> 4\r\nPING\r\n" },
        { "wildcard sub does not deliver denied subjects", Connect("c", "d") + "SUB > 1\r\nPUB p.z 2\r\nhi\r\nPING\r\n" },
        { "no permissions", Connect("e", "f") + "SUB > 1\r\nPUB anything 2\r\nhi\r\nPING\r\n" },
        { "one reply per request", Connect("r", "s") + "SUB req 1\r\nSUB _R.* 2\r\nPUB req _R.1 2\r\nhi\r\nPUB _R.1 1\r\na\r\nPUB _R.1 1\r\nb\r\nPUB _R.2 1\r\nc\r\nPING\r\n" },
        { "responses only, max 2", Connect("k", "l") + "PUB other 2\r\nhi\r\nPING\r\n" },
        { "wrong password", Connect("a", "x") + "PING\r\n" },
        { "unknown user", Connect("nobody", "b") + "PING\r\n" },
    };

    [SkippableFact]
    public async Task Raw_answers_match_nats_server_with_the_same_config_file()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        var config = await WriteConfigAsync(Config);
        await using var reference = await NatsServerProcess.StartAsync("-c", config);
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);
        await AssertSameAnswersAsync(reference.Port, silo.Port, Scripts);
        await silo.AssertOutputContainsAsync("Publish Violation - User \"a\", Subject \"x.secret\"");
    }

    [SkippableFact]
    public async Task Responses_from_a_second_connection_match_nats_server()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        var config = await WriteConfigAsync(Config);
        await using var reference = await NatsServerProcess.StartAsync("-c", config);
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);
        var expected = await RequestReplyTranscriptAsync(reference.Port);
        var actual = await RequestReplyTranscriptAsync(silo.Port);
        Assert.Equal(expected, actual);
    }

    /// <summary>k (responses only, max 2) serves a request from e: two replies pass, the third and an unrelated
    /// subject do not.</summary>
    private static async Task<string> RequestReplyTranscriptAsync(int port)
    {
        await using var responder = await RawSession.ConnectAsync(port, Connect("k", "l"));
        await using var requester = await RawSession.ConnectAsync(port, Connect("e", "f"));
        var log = new System.Text.StringBuilder();
        log.Append("k: ").Append(await responder.SendAsync("SUB svc 1\r\nPING\r\n"));
        log.Append("e: ").Append(await requester.SendAsync("SUB inbox.1 9\r\nPUB svc inbox.1 2\r\nhi\r\nPING\r\n"));
        log.Append("k: ").Append(await responder.SendAsync("PING\r\n"));
        log.Append("k: ").Append(await responder.SendAsync("PUB inbox.1 1\r\na\r\nPUB inbox.1 1\r\nb\r\nPUB inbox.1 1\r\nc\r\nPUB inbox.2 1\r\nd\r\nPING\r\n"));
        log.Append("e: ").Append(await requester.SendAsync("PING\r\n"));
        return log.ToString();
    }

    [Fact]
    public async Task Violations_through_nats_net_are_reported_and_nothing_is_delivered()
    {
        var config = await WriteConfigAsync(Config);
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);

        await using var watcher = new NatsConnection(new NatsOpts { Url = silo.Url, AuthOpts = new NatsAuthOpts { Username = "e", Password = "f" } });
        await using var watch = await watcher.SubscribeCoreAsync<string>(">");
        await watcher.PingAsync();

        var (limited, errors) = await ConnectCollectingErrorsAsync(silo.Url, "n", "o");
        await using var _ = limited;

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await limited.PublishAsync("x.secret", "must not arrive", cancellationToken: cts.Token);
        await using var denied = await limited.SubscribeCoreAsync<string>("z", cancellationToken: cts.Token);
        var seenErrors = await ReadErrorsAsync(errors, 2, cts.Token);
        Assert.True(seenErrors.Count(e => e.Contains("Permissions Violation for Publish to \"x.secret\"")) == 1
                    && seenErrors.Count(e => e.Contains("Permissions Violation for Subscription to \"z\"")) == 1,
            string.Join(" | ", seenErrors));

        // The connection survived both violations: an allowed publish goes through, and the denied subscription gets
        // nothing even when someone publishes on its subject.
        await limited.PublishAsync("x.fine", "ok", cancellationToken: cts.Token);
        await watcher.PublishAsync("z", "not for a", cancellationToken: cts.Token);
        await limited.PingAsync(cts.Token);
        await watcher.PingAsync(cts.Token);

        var seen = new List<string>();
        while (seen.Count < 2)
            seen.Add((await watch.Msgs.ReadAsync(cts.Token)).Subject);
        // Two publishers: their messages may arrive in either order.
        Assert.Equal(["x.fine", "z"], seen.Order());
        Assert.False(watch.Msgs.TryRead(out var extra), $"unexpected {extra.Subject}");
        Assert.False(denied.Msgs.TryRead(out var leaked), $"denied subscription received {leaked.Subject}");
        Assert.Equal(NatsConnectionState.Open, limited.ConnectionState);
    }

    /// <summary>Sends each script to both servers and asserts the same answers, listing every script that differs.</summary>
    internal static async Task AssertSameAnswersAsync(int referencePort, int siloPort, TheoryData<string, string> scripts)
    {
        var failures = new List<string>();
        foreach (var row in scripts)
        {
            var name = (string)row[0];
            var script = (string)row[1];
            // Every script ends with PING: the exchange ends at the PONG (or the close), so a long quiet time costs
            // nothing and keeps a loaded machine from cutting an answer short.
            var expected = await RawClient.ExchangeAsync(referencePort, script, TimeSpan.FromSeconds(5));
            var actual = await RawClient.ExchangeAsync(siloPort, script, TimeSpan.FromSeconds(5));
            if (expected.Answer != actual.Answer)
                failures.Add($"{name}:\n  nats-server: {Escape(expected.Answer)}\n  silo:        {Escape(actual.Answer)}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>A NATS.Net connection as a user, with the -ERR texts the server sends it.</summary>
    internal static async Task<(NatsConnection Connection, System.Threading.Channels.ChannelReader<string> Errors)> ConnectCollectingErrorsAsync(
        string url, string user, string password)
    {
        var connection = new NatsConnection(new NatsOpts { Url = url, AuthOpts = new NatsAuthOpts { Username = user, Password = password } });
        var errors = System.Threading.Channels.Channel.CreateUnbounded<string>();
        connection.ServerError += (_, args) =>
        {
            errors.Writer.TryWrite(args.Error);
            return ValueTask.CompletedTask;
        };
        await connection.ConnectAsync();
        return (connection, errors.Reader);
    }

    internal static async Task<List<string>> ReadErrorsAsync(System.Threading.Channels.ChannelReader<string> errors, int count, CancellationToken cancellationToken)
    {
        var seen = new List<string>();
        while (seen.Count < count)
            seen.Add(await errors.ReadAsync(cancellationToken));
        return seen;
    }

    internal static async Task<string> WriteConfigAsync(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"security-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(path, text);
        return path;
    }

    private static string Escape(string s) => s.Replace("\r", "\\r").Replace("\n", "\\n");
}
