using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// Server-wide <c>jetstream { max_memory_store, max_file_store }</c>: stream max_bytes reserved against them at
/// create and update, publishes refused once the stored bytes exceed them, and what the API reports. Each test
/// starts its own servers, so the reservations are its own.
/// </summary>
public sealed class StoreLimitsTests
{
    private const string Config = "jetstream { max_memory_store: 1MB, max_file_store: 2MB }\n";
    private const long MaxMemory = 1024 * 1024, MaxStore = 2 * 1024 * 1024;
    private static readonly string Payload = new('x', 100_000);

    private static string WriteConfig()
    {
        var path = Path.Combine(Path.GetTempPath(), "limits-" + Guid.NewGuid().ToString("N") + ".conf");
        File.WriteAllText(path, Config);
        return path;
    }

    [Fact]
    public async Task Creating_streams_past_the_limits_is_refused()
    {
        await using var silo = await SiloProcess.StartAsync(extraArgs: ["-c", WriteConfig()]);
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();

        var tooBig = await Assert.ThrowsAsync<NatsJSApiException>(() =>
            js.CreateStreamAsync(new StreamConfig("BIG", ["big"]) { MaxBytes = MaxStore + 1 }).AsTask());
        Assert.Equal((500, 10047, "insufficient storage resources available"), (tooBig.Error.Code, tooBig.Error.ErrCode, tooBig.Error.Description));

        await js.CreateStreamAsync(new StreamConfig("HALF", ["half"]) { MaxBytes = MaxStore / 2 });
        await js.CreateStreamAsync(new StreamConfig("REST", ["rest"]) { MaxBytes = MaxStore / 2 });
        // Fully reserved: even a stream without max_bytes has no room, and growing a reservation fails.
        var none = await Assert.ThrowsAsync<NatsJSApiException>(() => js.CreateStreamAsync(new StreamConfig("NONE", ["none"])).AsTask());
        Assert.Equal(10047, none.Error.ErrCode);
        var grow = await Assert.ThrowsAsync<NatsJSApiException>(() =>
            js.UpdateStreamAsync(new StreamConfig("HALF", ["half"]) { MaxBytes = MaxStore / 2 + 1 }).AsTask());
        Assert.Equal(10047, grow.Error.ErrCode);
        // Shrinking one frees room for another; deleting one frees its whole reservation.
        await js.UpdateStreamAsync(new StreamConfig("HALF", ["half"]) { MaxBytes = 1000 });
        await js.CreateStreamAsync(new StreamConfig("SMALL", ["small"]) { MaxBytes = MaxStore / 2 - 1000 });
        await js.DeleteStreamAsync("REST");
        await js.CreateStreamAsync(new StreamConfig("NONE", ["none"]));

        var memory = await Assert.ThrowsAsync<NatsJSApiException>(() =>
            js.CreateStreamAsync(new StreamConfig("MEM", ["mem"]) { Storage = StreamConfigStorage.Memory, MaxBytes = MaxMemory + 1 }).AsTask());
        Assert.Equal((500, 10028, "insufficient memory resources available"), (memory.Error.Code, memory.Error.ErrCode, memory.Error.Description));
        await js.CreateStreamAsync(new StreamConfig("MEM", ["mem"]) { Storage = StreamConfigStorage.Memory, MaxBytes = MaxMemory });

        // /jsz sums the reservations: HALF's 1000 and SMALL's, NONE reserving nothing.
        using var http = new HttpClient();
        var jsz = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{silo.HttpPort}/jsz"))!;
        Assert.Equal(MaxStore / 2, jsz["reserved_storage"]!.GetValue<long>());
        Assert.Equal(MaxMemory, jsz["reserved_memory"]!.GetValue<long>());
    }

    [Fact]
    public async Task Publishes_are_refused_once_the_store_is_full_and_account_info_reports_usage()
    {
        await using var silo = await SiloProcess.StartAsync(extraArgs: ["-c", WriteConfig()]);
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();
        await js.CreateStreamAsync(new StreamConfig("FILE", ["file"]));
        await js.CreateStreamAsync(new StreamConfig("MEM", ["mem"]) { Storage = StreamConfigStorage.Memory });

        // A memory message counts subject + payload + 16 bytes (100019 here): the check is "already over the limit",
        // so the 11th (crossing 1 MiB) is stored and the 12th refused.
        for (int i = 0; i < 11; i++)
            (await js.PublishAsync("mem", Payload)).EnsureSuccess();
        var refused = await js.PublishAsync("mem", Payload);
        Assert.False(refused.IsSuccess());
        Assert.Equal((503, 10023, "insufficient resources"), (refused.Error!.Code, refused.Error.ErrCode, refused.Error.Description));
        await WaitFor(() => silo.Output.Contains("JetStream resource limits exceeded for server", StringComparison.Ordinal));
        // The file store is separate and still takes messages.
        (await js.PublishAsync("file", Payload)).EnsureSuccess();

        var account = await js.GetAccountInfoAsync();
        Assert.Equal(11UL * 100_019, account.Memory);
        // A file message counts 22 + subject + payload + 8 bytes.
        Assert.Equal(100_034UL, account.Storage);
        // As nats-server: the global account has no account limits of its own; the server limits are in /jsz.
        Assert.Equal(-1, account.Limits.MaxMemory);
        Assert.Equal(-1, account.Limits.MaxStorage);

        // Purging frees the store for publishes again.
        await js.PurgeStreamAsync("MEM", new StreamPurgeRequest());
        (await js.PublishAsync("mem", Payload)).EnsureSuccess();
        Assert.Equal(100_019UL, (await js.GetAccountInfoAsync()).Memory);

        using var http = new HttpClient();
        var jsz = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{silo.HttpPort}/jsz"))!;
        Assert.Equal(MaxMemory, jsz["config"]!["max_memory"]!.GetValue<long>());
        Assert.Equal(MaxStore, jsz["config"]!["max_storage"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_full_file_store_stays_full_and_reserved_across_a_restart()
    {
        var config = WriteConfig();
        var silo = await SiloProcess.StartAsync(extraArgs: ["-c", config]);
        var dataDirectory = silo.DataDirectory;
        await using (var nats = new NatsConnection(new NatsOpts { Url = silo.Url }))
        {
            var js = nats.CreateJetStreamContext();
            await js.CreateStreamAsync(new StreamConfig("FULL", ["full"]));
            await js.CreateStreamAsync(new StreamConfig("RESERVED", ["reserved"]) { MaxBytes = MaxStore / 2 });
            // 100034 a message: the 21st crosses 2 MiB.
            for (int i = 0; i < 21; i++)
                (await js.PublishAsync("full", Payload)).EnsureSuccess();
        }
        await silo.StopAsync();
        await silo.DisposeAsync();

        await using var restarted = await SiloProcess.StartAsync(dataDirectory: dataDirectory, extraArgs: ["-c", config]);
        await using var client = new NatsConnection(new NatsOpts { Url = restarted.Url });
        var context = client.CreateJetStreamContext();
        // The restarted silo counts what the streams hold before it takes the first publish.
        var refused = await context.PublishAsync("reserved", "x");
        Assert.Equal(10023, refused.Error?.ErrCode);
        var over = await Assert.ThrowsAsync<NatsJSApiException>(() =>
            context.CreateStreamAsync(new StreamConfig("MORE", ["more"]) { MaxBytes = MaxStore / 2 + 1 }).AsTask());
        Assert.Equal(10047, over.Error.ErrCode);
        Assert.Equal(21UL * 100_034, (await context.GetAccountInfoAsync()).Storage);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(5); !condition(); await Task.Delay(50))
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 5s");
    }

    /// <summary>The step list run against both servers. {S} is a stream-name prefix, {s} its lower case.</summary>
    private static readonly (string Subject, string Body, (string, string)[]? Headers)[] Script = BuildScript();

    private static (string, string, (string, string)[]?)[] BuildScript()
    {
        var steps = new List<(string, string)>
        {
            ("$JS.API.INFO", ""),
            ("$JS.API.STREAM.CREATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s}.a\"]}"),
            ("$JS.API.STREAM.CREATE.{S}M", "{\"name\":\"{S}M\",\"subjects\":[\"{s}.m\"],\"storage\":\"memory\"}"),
            ("$JS.API.STREAM.CREATE.{S}B", "{\"name\":\"{S}B\",\"subjects\":[\"{s}.b\"],\"max_bytes\":1000000}"),
            ("$JS.API.STREAM.CREATE.{S}C", "{\"name\":\"{S}C\",\"subjects\":[\"{s}.c\"],\"max_bytes\":3000000}"),
            ("$JS.API.STREAM.CREATE.{S}D", "{\"name\":\"{S}D\",\"subjects\":[\"{s}.d\"],\"max_bytes\":1097152}"),
            ("$JS.API.STREAM.CREATE.{S}F", "{\"name\":\"{S}F\",\"subjects\":[\"{s}.f\"],\"max_bytes\":1}"),
            ("$JS.API.STREAM.CREATE.{S}K", "{\"name\":\"{S}K\",\"subjects\":[\"{s}.k\"]}"),
            ("$JS.API.STREAM.CREATE.{S}E", "{\"name\":\"{S}E\",\"subjects\":[\"{s}.e\"],\"storage\":\"memory\",\"max_bytes\":1048577}"),
            ("$JS.API.STREAM.CREATE.{S}E", "{\"name\":\"{S}E\",\"subjects\":[\"{s}.e\"],\"storage\":\"memory\",\"max_bytes\":1048576}"),
            ("$JS.API.STREAM.CREATE.{S}G", "{\"name\":\"{S}G\",\"subjects\":[\"{s}.g\"],\"storage\":\"memory\"}"),
            // An existing stream's create with the same config is not a new reservation.
            ("$JS.API.STREAM.CREATE.{S}B", "{\"name\":\"{S}B\",\"subjects\":[\"{s}.b\"],\"max_bytes\":1000000}"),
            ("$JS.API.STREAM.UPDATE.{S}B", "{\"name\":\"{S}B\",\"subjects\":[\"{s}.b\"],\"max_bytes\":1000001}"),
            ("$JS.API.STREAM.UPDATE.{S}B", "{\"name\":\"{S}B\",\"subjects\":[\"{s}.b\"],\"max_bytes\":500000}"),
            ("$JS.API.STREAM.UPDATE.{S}D", "{\"name\":\"{S}D\",\"subjects\":[\"{s}.d\"],\"max_bytes\":1597153}"),
            ("$JS.API.STREAM.UPDATE.{S}D", "{\"name\":\"{S}D\",\"subjects\":[\"{s}.d\"],\"max_bytes\":1597152}"),
            ("$JS.API.STREAM.UPDATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s}.a\"],\"description\":\"full\"}"),
            ("$JS.API.STREAM.UPDATE.{S}A", "{\"name\":\"{S}A\",\"subjects\":[\"{s}.a\"],\"max_bytes\":1}"),
            ("$JS.API.STREAM.UPDATE.{S}D", "{\"name\":\"{S}D\",\"subjects\":[\"{s}.d\"]}"),
            ("$JS.API.STREAM.CREATE.{S}H", "{\"name\":\"{S}H\",\"subjects\":[\"{s}.h\"],\"max_bytes\":1597152}"),
        };
        var all = steps.Select(s => (s.Item1, s.Item2, (ValueTuple<string, string>[]?)null)).ToList();
        all.Add(("{s}.a", "small", [("Nats-Msg-Id", "one")]));
        // 100031 stored bytes each in the file store: the 21st crosses 2 MiB and is stored, the 22nd is refused;
        // 100021 each in the memory store: the 11th crosses 1 MiB, the 12th is refused.
        for (int i = 0; i < 22; i++)
            all.Add(("{s}.a", "<payload>", null));
        // A full store still answers duplicates and header checks first; a refused msg id is not remembered.
        all.Add(("{s}.a", "small", [("Nats-Msg-Id", "one")]));
        all.Add(("{s}.a", "small", [("Nats-Expected-Last-Sequence", "3")]));
        all.Add(("{s}.a", "small", [("Nats-Expected-Stream", "OTHER")]));
        all.Add(("{s}.a", "small", [("Nats-Msg-Id", "two")]));
        all.Add(("{s}.a", "small", [("Nats-Msg-Id", "two")]));
        steps.Clear();
        for (int i = 0; i < 12; i++)
            steps.Add(("{s}.m", "<payload>"));
        steps.Add(("$JS.API.INFO", ""));
        steps.Add(("$JS.API.STREAM.INFO.{S}A", ""));
        steps.Add(("{s}.b", "small"));
        steps.Add(("$JS.API.STREAM.DELETE.{S}A", ""));
        steps.Add(("{s}.b", "small"));
        steps.Add(("$JS.API.STREAM.PURGE.{S}M", ""));
        steps.Add(("{s}.m", "small"));
        steps.Add(("$JS.API.INFO", ""));
        all.AddRange(steps.Select(s => (s.Item1, s.Item2, (ValueTuple<string, string>[]?)null)));
        return [.. all];
    }

    [SkippableFact]
    public async Task Limits_answers_match_nats_server()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        var config = WriteConfig();
        await using var reference = await NatsServerProcess.StartAsync("-c", config);
        await using var silo = await SiloProcess.StartAsync(extraArgs: ["-c", config]);
        var expected = await RunAsync(reference.Url);
        var actual = await RunAsync(silo.Url);
        ApiScript.AssertSameAnswers(expected, actual, i => $"{Script[i].Subject} {Script[i].Body}", Ignored);
    }

    private static async Task<List<string?>> RunAsync(string url)
    {
        const string name = "LIM";
        await using var nats = new NatsConnection(new NatsOpts { Url = url });
        await nats.ConnectAsync();
        var answers = new List<string?>();
        foreach (var (subject, body, headers) in Script)
        {
            var text = body == "<payload>" ? Payload : ApiScript.Fill(body, name);
            answers.Add(await ApiScript.RequestAsync(nats, ApiScript.Fill(subject, name), text, headers, TimeSpan.FromSeconds(5)));
        }
        return answers;
    }

    /// <summary>Times, and the API request counters: the silo counts an INFO request before answering it,
    /// nats-server after (a difference of every INFO, not of the limits).</summary>
    private static readonly HashSet<string> Ignored = ["created", "first_ts", "last_ts", "time", "api"];
}
