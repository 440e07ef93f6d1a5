using System.Text.Json;
using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Security;

/// <summary>
/// Attacks on the JetStream API that nats-server 2.9.10 does not define an answer for (or answers by accident): names
/// that would be paths, server deliveries aimed at the API, names the file system cannot hold, subjects that would
/// capture the server's own traffic. The silo refuses each with an error reply and keeps every other stream intact.
/// </summary>
public sealed class HostileApiTests
{
    private static async Task<NatsConnection> ConnectAsync(SiloProcess silo, string? user = null, string? password = null)
    {
        var opts = new NatsOpts { Url = silo.Url };
        if (user is not null)
            opts = opts with { AuthOpts = new NatsAuthOpts { Username = user, Password = password } };
        var nats = new NatsConnection(opts);
        await nats.ConnectAsync();
        return nats;
    }

    /// <summary>The API's answer: its err_code, or 0 for success; fails when nothing answers.</summary>
    private static async Task<int> ErrCodeAsync(NatsConnection nats, string subject, string body)
    {
        var reply = await ApiScript.RequestAsync(nats, subject, body, null, TimeSpan.FromSeconds(5));
        Assert.True(reply is not null, $"no reply to {subject}");
        using var json = JsonDocument.Parse(reply!);
        return json.RootElement.TryGetProperty("error", out var error) ? error.GetProperty("err_code").GetInt32() : 0;
    }

    private static async Task<ulong> MessagesAsync(NatsConnection nats, string stream)
    {
        var reply = await ApiScript.RequestAsync(nats, $"$JS.API.STREAM.INFO.{stream}", "", null, TimeSpan.FromSeconds(5));
        using var json = JsonDocument.Parse(reply!);
        Assert.False(json.RootElement.TryGetProperty("error", out var error), $"{stream}: {error}");
        return json.RootElement.GetProperty("state").GetProperty("messages").GetUInt64();
    }

    private static async Task CreateStreamWithMessagesAsync(NatsConnection nats, string name, int messages)
    {
        Assert.Equal(0, await ErrCodeAsync(nats, $"$JS.API.STREAM.CREATE.{name}", $"{{\"name\":\"{name}\",\"subjects\":[\"{name.ToLowerInvariant()}.>\"]}}"));
        for (int i = 0; i < messages; i++)
            Assert.NotNull(await ApiScript.RequestAsync(nats, $"{name.ToLowerInvariant()}.m", $"m{i}", null, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Consumer_names_never_reach_outside_their_stream()
    {
        var data = Path.Combine(Path.GetTempPath(), "silo-test-" + Guid.NewGuid().ToString("N"));
        var sentinel = Path.Combine(Path.GetTempPath(), "sentinel" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(sentinel);
        await File.WriteAllTextAsync(Path.Combine(sentinel, "keep"), "keep");
        try
        {
            await using (var silo = await SiloProcess.StartAsync(jetStream: true, dataDirectory: data))
            {
                await using var nats = await ConnectAsync(silo);
                await CreateStreamWithMessagesAsync(nats, "VICTIM", 3);
                await CreateStreamWithMessagesAsync(nats, "ATTACK", 1);
                (string Subject, string Body, int ErrCode)[] attempts =
                [
                    ($"$JS.API.CONSUMER.DURABLE.CREATE.ATTACK.{sentinel}", $"{{\"config\":{{\"durable_name\":\"{sentinel}\",\"ack_policy\":\"explicit\"}}}}", 10127),
                    ($"$JS.API.CONSUMER.CREATE.ATTACK.{sentinel}", $"{{\"config\":{{\"name\":\"{sentinel}\",\"ack_policy\":\"explicit\"}}}}", 10127),
                    ("$JS.API.CONSUMER.CREATE.ATTACK", $"{{\"config\":{{\"durable_name\":\"{sentinel}\",\"ack_policy\":\"explicit\"}}}}", 10127),
                    ("$JS.API.CONSUMER.CREATE.ATTACK", "{\"config\":{\"durable_name\":\"../../VICTIM\",\"ack_policy\":\"explicit\"}}", 10103),
                    ("$JS.API.CONSUMER.CREATE.ATTACK", "{\"config\":{\"name\":\"../../VICTIM\",\"inactive_threshold\":100000000}}", 10103),
                    ("$JS.API.CONSUMER.CREATE.ATTACK", "{\"config\":{\"durable_name\":\"..\",\"ack_policy\":\"explicit\"}}", 10103),
                    ("$JS.API.CONSUMER.CREATE.ATTACK", "{\"config\":{\"durable_name\":\"a\\\\b\",\"ack_policy\":\"explicit\"}}", 10127),
                ];
                foreach (var (subject, body, errCode) in attempts)
                    Assert.Equal(errCode, await ErrCodeAsync(nats, subject, body));
                // Deleting unknown consumers by path, then the attacking stream (which deletes its consumers).
                Assert.Equal(10014, await ErrCodeAsync(nats, $"$JS.API.CONSUMER.DELETE.ATTACK.{sentinel}", ""));
                Assert.Equal(0, await ErrCodeAsync(nats, "$JS.API.STREAM.DELETE.ATTACK", ""));
                await Task.Delay(500);
                Assert.Equal(3ul, await MessagesAsync(nats, "VICTIM"));
            }
            Assert.Equal(["keep"], Directory.GetFileSystemEntries(sentinel).Select(Path.GetFileName));
            // No consumer was ever made, so no consumer state exists anywhere in the store.
            Assert.Empty(Directory.GetFiles(data, "state.json", SearchOption.AllDirectories));

            await using (var silo = await SiloProcess.StartAsync(jetStream: true, dataDirectory: data))
            {
                await using var nats = await ConnectAsync(silo);
                Assert.Equal(3ul, await MessagesAsync(nats, "VICTIM"));
                Assert.Equal(10059, await ErrCodeAsync(nats, "$JS.API.STREAM.INFO.ATTACK", ""));
            }
        }
        finally
        {
            Directory.Delete(sentinel, recursive: true);
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Server_deliveries_are_never_run_as_api_requests()
    {
        var config = await PermissionsTests.WriteConfigAsync("""
            authorization {
              users = [
                {user: admin, password: admin}
                # may make pull requests and create consumers, nothing else in the API
                {user: puller, password: puller, permissions: {
                  publish: ["$JS.API.CONSUMER.MSG.NEXT.>", "$JS.API.CONSUMER.CREATE.>", "$JS.API.CONSUMER.DURABLE.CREATE.>"]
                  subscribe: ">" }}
              ]
            }
            """);
        await using var silo = await SiloProcess.StartAsync(jetStream: true, extraArgs: ["-c", config]);
        await using var admin = await ConnectAsync(silo, "admin", "admin");
        await CreateStreamWithMessagesAsync(admin, "VICTIM", 2);
        await CreateStreamWithMessagesAsync(admin, "WORK", 3);
        Assert.Equal(0, await ErrCodeAsync(admin, "$JS.API.CONSUMER.DURABLE.CREATE.WORK.C", "{\"stream_name\":\"WORK\",\"config\":{\"durable_name\":\"C\",\"ack_policy\":\"explicit\"}}"));

        await using var puller = await RawSession.ConnectAsync(silo.Port,
            "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"user\":\"puller\",\"pass\":\"puller\"}\r\n");
        // Its own request to delete is refused by permissions...
        Assert.Contains("Permissions Violation", await puller.SendAsync("PUB $JS.API.STREAM.DELETE.VICTIM _INBOX.x 0\r\n\r\nPING\r\n"));
        // ...and a pull (or a push consumer) that delivers to the API must not do it on the puller's behalf.
        await puller.SendAsync("PUB $JS.API.CONSUMER.MSG.NEXT.WORK.C $JS.API.STREAM.DELETE.VICTIM 11\r\n{\"batch\":3}\r\nPING\r\n");
        await using var pullerClient = await ConnectAsync(silo, "puller", "puller");
        Assert.Equal(10112, await ErrCodeAsync(pullerClient, "$JS.API.CONSUMER.DURABLE.CREATE.WORK.EVIL",
            "{\"stream_name\":\"WORK\",\"config\":{\"durable_name\":\"EVIL\",\"deliver_subject\":\"$JS.API.STREAM.DELETE.VICTIM\"}}"));
        Assert.Equal(10112, await ErrCodeAsync(pullerClient, "$JS.API.CONSUMER.DURABLE.CREATE.WORK.EVIL2",
            "{\"stream_name\":\"WORK\",\"config\":{\"durable_name\":\"EVIL2\",\"deliver_subject\":\"$JS.ACK.WORK.C.1.1.1.0.0\"}}"));
        await Task.Delay(1000);
        Assert.Equal(2ul, await MessagesAsync(admin, "VICTIM"));
    }

    [Fact]
    public async Task Names_with_nul_or_over_255_bytes_get_an_error_reply()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: true);
        await using var nats = await ConnectAsync(silo);
        await CreateStreamWithMessagesAsync(nats, "NAMES", 0);
        var long256 = new string('é', 128);
        Assert.Equal(10103, await ErrCodeAsync(nats, "$JS.API.CONSUMER.CREATE.NAMES", "{\"config\":{\"name\":\"a\\u0000b\"}}"));
        Assert.Equal(10103, await ErrCodeAsync(nats, "$JS.API.CONSUMER.CREATE.NAMES", "{\"config\":{\"durable_name\":\"a\\u0001b\"}}"));
        Assert.Equal(10102, await ErrCodeAsync(nats, "$JS.API.CONSUMER.CREATE.NAMES", $"{{\"config\":{{\"name\":\"{long256}\"}}}}"));
        Assert.Equal(10102, await ErrCodeAsync(nats, $"$JS.API.CONSUMER.DURABLE.CREATE.NAMES.{new string('a', 300)}", $"{{\"config\":{{\"durable_name\":\"{new string('a', 300)}\"}}}}"));
        Assert.Equal(0, await ErrCodeAsync(nats, "$JS.API.CONSUMER.CREATE.NAMES", $"{{\"config\":{{\"durable_name\":\"{new string('é', 127)}\"}}}}"));
        Assert.Equal(10052, await ErrCodeAsync(nats, $"$JS.API.STREAM.CREATE.{long256}", $"{{\"name\":\"{long256}\"}}"));
        Assert.Equal(0, await ErrCodeAsync(nats, $"$JS.API.STREAM.CREATE.{new string('é', 127)}", $"{{\"name\":\"{new string('é', 127)}\",\"subjects\":[\"long.names\"]}}"));
        Assert.NotNull(await ApiScript.RequestAsync(nats, "long.names", "still serving", null, TimeSpan.FromSeconds(5)));
        Assert.Equal(1ul, await MessagesAsync(nats, new string('é', 127)));
    }

    [Fact]
    public async Task A_durable_whose_state_cannot_be_written_is_refused()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: true);
        await using var nats = await ConnectAsync(silo);
        await CreateStreamWithMessagesAsync(nats, "NOSTATE", 1);
        // A file where the consumers' directory would go: no consumer state can be written under it.
        await File.WriteAllTextAsync(Path.Combine(silo.DataDirectory, "jetstream", "streams", "NOSTATE", "consumers"), "");
        Assert.Equal(10012, await ErrCodeAsync(nats, "$JS.API.CONSUMER.DURABLE.CREATE.NOSTATE.D", "{\"config\":{\"durable_name\":\"D\",\"ack_policy\":\"explicit\"}}"));
        var names = await ApiScript.RequestAsync(nats, "$JS.API.CONSUMER.NAMES.NOSTATE", "", null, TimeSpan.FromSeconds(5));
        using var json = JsonDocument.Parse(names!);
        Assert.Equal(0, json.RootElement.GetProperty("total").GetInt32());
        Assert.Equal(10014, await ErrCodeAsync(nats, "$JS.API.CONSUMER.INFO.NOSTATE.D", ""));
    }

    [Fact]
    public async Task Streams_cannot_capture_the_servers_own_subjects_unless_they_never_reply()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: true);
        await using var nats = await ConnectAsync(silo);
        foreach (var subject in new[] { ">", "$JS.>", "$JS.ACK.>", "$JS.FC.>", "$JSC.>", "*.API.>", "$SYS.>" })
            Assert.Equal(10052, await ErrCodeAsync(nats, "$JS.API.STREAM.CREATE.GREEDY", $"{{\"name\":\"GREEDY\",\"subjects\":[\"{subject}\"]}}"));
        Assert.Equal(10052, await ErrCodeAsync(nats, "$JS.API.STREAM.CREATE.GREEDY", "{\"name\":\"GREEDY\",\"subjects\":[\"$JS.API.>\"],\"no_ack\":true}"));
        Assert.Equal(0, await ErrCodeAsync(nats, "$JS.API.STREAM.CREATE.EVENTS", "{\"name\":\"EVENTS\",\"subjects\":[\"$JS.EVENT.>\"]}"));

        // With no_ack a stream may take everything; the API still answers once, from the server alone.
        Assert.Equal(0, await ErrCodeAsync(nats, "$JS.API.STREAM.DELETE.EVENTS", ""));
        Assert.Equal(0, await ErrCodeAsync(nats, "$JS.API.STREAM.CREATE.ALL", "{\"name\":\"ALL\",\"subjects\":[\">\"],\"no_ack\":true}"));
        var inbox = "reply." + Guid.NewGuid().ToString("N");
        await using var replies = await nats.SubscribeCoreAsync<byte[]>(inbox);
        await nats.PublishAsync("$JS.API.STREAM.INFO.ALL", Array.Empty<byte>(), replyTo: inbox);
        var first = await replies.Msgs.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Contains("stream_info_response", System.Text.Encoding.UTF8.GetString(first.Data!));
        await Task.Delay(500);
        Assert.False(replies.Msgs.TryRead(out _), "a second reply to one API request");
    }

    [Fact]
    public async Task Mirrors_and_sources_that_cannot_work_are_refused()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: true);
        await using var nats = await ConnectAsync(silo);
        await CreateStreamWithMessagesAsync(nats, "ORIGIN", 1);
        Assert.Equal(10052, await ErrCodeAsync(nats, "$JS.API.STREAM.CREATE.COPY", "{\"name\":\"COPY\",\"mirror\":{\"name\":\"ORIGIN\",\"external\":{\"api\":\"$JS.x.API\"}}}"));
        Assert.Equal(10052, await ErrCodeAsync(nats, "$JS.API.STREAM.CREATE.COPY", "{\"name\":\"COPY\",\"sources\":[{\"name\":\"COPY\"}]}"));
        Assert.Equal(10059, await ErrCodeAsync(nats, "$JS.API.STREAM.INFO.COPY", ""));
        Assert.Equal(0, await ErrCodeAsync(nats, "$JS.API.STREAM.CREATE.COPY", "{\"name\":\"COPY\",\"sources\":[],\"mirror\":null}"));
    }
}
