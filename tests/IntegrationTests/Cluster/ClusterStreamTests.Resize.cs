using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Cluster;

public sealed partial class ClusterStreamTests
{
    /// <summary>
    /// num_replicas changed on a stream that exists, as `nats stream edit --replicas` does: an R1 stream with a durable
    /// consumer grows to R3 (its new copies made from the primary's files, consumer state included) and takes publishes
    /// at once; its primary's silo is then killed with SIGKILL, and a replica takes over with every message and without
    /// delivering again what the consumer acknowledged. Shrunk back to R1,
    /// the stream keeps serving, and the copy on the live node that is not its leader is removed.
    /// </summary>
    [SkippableFact]
    public async Task A_stream_grown_from_R1_to_R3_survives_its_primary_killed_and_shrinks_back_to_R1()
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        await using var nodes = await Nodes.StartAsync(Postgres, "resize");
        var (silos, js) = (nodes.Silos, nodes.Js);
        var created = await js[0].CreateStreamAsync(new StreamConfig("RS", ["rs.>"]));
        Assert.Empty(created.Info.Cluster!.Replicas ?? []);
        var leader = created.Info.Cluster.Leader!;
        int primary = leader[0] - 'a', survivor = (primary + 1) % 3, third = (primary + 2) % 3;
        for (int i = 1; i <= 60; i++)
            Assert.Null((await js[i % 3].PublishAsync("rs.m", $"m{i}")).Error);
        await js[survivor].CreateOrUpdateConsumerAsync("RS", new ConsumerConfig("worker") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
        var acked = new HashSet<ulong>();
        var consumer = await js[survivor].GetConsumerAsync("RS", "worker");
        await foreach (var msg in consumer.FetchAsync<string>(new NatsJSFetchOpts { MaxMsgs = 30, Expires = TimeSpan.FromSeconds(5) }))
        {
            await msg.AckAsync(new AckOpts { DoubleAck = true });
            acked.Add(msg.Metadata!.Value.Sequence.Stream);
        }
        Assert.Equal(30, acked.Count);

        var grown = await js[third].UpdateStreamAsync(created.Info.Config with { NumReplicas = 3 });
        Assert.Equal(3, grown.Info.Config.NumReplicas);
        Assert.Equal(leader, grown.Info.Cluster!.Leader);
        Assert.Equal(2, grown.Info.Cluster.Replicas!.Count);
        for (int i = 61; i <= 100; i++)
            Assert.Null((await js[i % 3].PublishAsync("rs.m", $"m{i}")).Error);
        await ProcessCluster.WaitUntilAsync(async () => (await js[survivor].GetStreamAsync("RS")).Info.Cluster!.Replicas!.All(r => r.Current),
            TimeSpan.FromSeconds(30), async () => $"replicas {string.Join(", ", (await js[survivor].GetStreamAsync("RS")).Info.Cluster!.Replicas!.Select(r => $"{r.Name} current {r.Current} lag {r.Lag}"))}");
        foreach (var silo in silos)
            Assert.True(Directory.Exists(StreamDirectory(silo, "RS")), $"no copy on {NodeOf(silos, silo)}");

        silos[primary].Kill();
        await ProcessCluster.WaitUntilAsync(async () => await LeaderAsync(js[survivor], "RS") is { } now && now != leader,
            TimeSpan.FromSeconds(60), async () => $"leader still {await LeaderAsync(js[survivor], "RS")}");
        Assert.Equal(Enumerable.Range(1, 100).Select(i => $"m{i}"), await ReadPayloadsAsync(js[survivor], "RS", 100));
        Assert.Empty(await AckAllAsync(js[survivor], "RS", "worker", acked, 100));

        var shrunk = await js[survivor].UpdateStreamAsync(grown.Info.Config with { NumReplicas = 1 });
        Assert.Equal(1, shrunk.Info.Config.NumReplicas);
        Assert.Empty(shrunk.Info.Cluster!.Replicas ?? []);
        var last = shrunk.Info.Cluster.Leader!;
        var other = silos[survivor] == silos[last[0] - 'a'] ? third : survivor;
        Assert.False(Directory.Exists(StreamDirectory(silos[other], "RS")), $"the copy on {NodeOf(silos, silos[other])} was not removed");
        Assert.Equal(101UL, (await js[other].PublishAsync("rs.m", "m101")).Seq);
        Assert.Equal(Enumerable.Range(1, 101).Select(i => $"m{i}"), await ReadPayloadsAsync(js[other], "RS", 101));
    }

    /// <summary>
    /// The same replica changes sent to a 3-node nats-server 2.9.10 JetStream cluster and to 3 silo processes, through
    /// the raw API: both must answer alike (the count in the config, the copies stream info lists, the refusal of more
    /// copies than nodes, and the messages kept throughout). That the copies become current is the test above's.
    /// </summary>
    [SkippableFact]
    public async Task Replica_changes_are_answered_as_a_nats_server_cluster_answers_them()
    {
        Skip.If(NatsServerProcess.ExecutablePath is null, NatsServerProcess.SkipReason);
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        string expected;
        await using (var reference = await NatsServerCluster.StartAsync(3, jetStream: true))
        {
            await using var client = new NatsConnection(new NatsOpts { Url = reference.Urls[0] });
            try
            {
                expected = await ResizeScriptAsync(client);
            }
            catch (Xunit.Sdk.XunitException ex)
            {
                // Seen on the loaded CI machine: nats-server answered the grow but its stream stayed at one copy.
                Skip.If(true, $"the reference nats-server cluster did not carry out the replica change here: {ex.Message}");
                throw;
            }
        }
        await using var nodes = await Nodes.StartAsync(Postgres, "resizediff");
        var actual = await ResizeScriptAsync(nodes.Clients[0]);
        output.WriteLine(actual);
        Assert.Equal(expected, actual);
    }

    /// <summary>Creates RD at R1 with 5 messages, grows it to 3, asks for 4, shrinks it to 1; what each answer says, a line each.</summary>
    private static async Task<string> ResizeScriptAsync(NatsConnection client)
    {
        var lines = new List<string>();
        // A new JetStream cluster answers once it has elected its meta leader.
        await ProcessCluster.WaitUntilAsync(async () => Field(await TryApiAsync(client, "STREAM.CREATE.RD", Config(1)), "config", "num_replicas") == "1",
            TimeSpan.FromSeconds(60), () => Task.FromResult("RD not created"));
        for (int i = 0; i < 5; i++)
            await client.RequestAsync<string, string>("rd.m", $"m{i}");
        var grown = await ApiAsync(client, "STREAM.UPDATE.RD", Config(3));
        lines.Add($"grow: replicas {Field(grown, "config", "num_replicas")}, messages {Field(grown, "state", "messages")}, error {Field(grown, "error", "err_code")}");
        // nats-server lists the new replicas once its stream group has a leader; whether they are current yet depends
        // on timing (a CI run saw nats-server's not current for 30 s), so only the list is compared.
        System.Text.Json.JsonElement info = default;
        await ProcessCluster.WaitUntilAsync(async () => Copies(info = await TryApiAsync(client, "STREAM.INFO.RD", "")) == 2 && Field(info, "cluster", "leader") is not null,
            TimeSpan.FromSeconds(90), () => Task.FromResult($"the copies are not listed: {info}"));
        lines.Add($"grown: copies {Copies(info)}, messages {Field(info, "state", "messages")}");
        var tooMany = await ApiAsync(client, "STREAM.UPDATE.RD", Config(4));
        lines.Add($"four: {Field(tooMany, "error", "code")} {Field(tooMany, "error", "err_code")} {Field(tooMany, "error", "description")}");
        var shrunk = await ApiAsync(client, "STREAM.UPDATE.RD", Config(1));
        lines.Add($"shrink: replicas {Field(shrunk, "config", "num_replicas")}, messages {Field(shrunk, "state", "messages")}, copies {Copies(shrunk)}");
        return string.Join("\n", lines);

        static string Config(int replicas) => $$"""{"name":"RD","subjects":["rd.>"],"num_replicas":{{replicas}}}""";
    }

    private static async Task<System.Text.Json.JsonElement> ApiAsync(NatsConnection client, string api, string body)
    {
        var reply = await client.RequestAsync<string, string>($"$JS.API.{api}", body);
        return System.Text.Json.JsonDocument.Parse(reply.Data!).RootElement.Clone();
    }

    /// <summary>The reply, or an empty element when none came (a JetStream cluster still electing its leaders).</summary>
    private static async Task<System.Text.Json.JsonElement> TryApiAsync(NatsConnection client, string api, string body)
    {
        try
        {
            return await ApiAsync(client, api, body);
        }
        catch (NatsNoReplyException)
        {
            return System.Text.Json.JsonDocument.Parse("{}").RootElement.Clone();
        }
    }

    private static string? Field(System.Text.Json.JsonElement reply, string parent, string name)
        => reply.TryGetProperty(parent, out var p) && p.TryGetProperty(name, out var v) ? v.ToString() : null;

    /// <summary>How many copies other than the leader stream info lists.</summary>
    private static int Copies(System.Text.Json.JsonElement reply)
        => reply.TryGetProperty("cluster", out var cluster) && cluster.TryGetProperty("replicas", out var replicas) ? replicas.GetArrayLength() : 0;
}
