using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream.Models;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Cluster;

/// <summary>
/// One connection's publishes are stored in the order it sent them, as nats-server stores them, also through a silo
/// that is not the stream's home: there the gateway keeps several batches on the way to the stream grain, and Orleans
/// may deliver calls between two silos out of order.
/// </summary>
public sealed partial class ClusterStreamTests
{
    /// <param name="updateHalfway">The stream's config is updated halfway (the gateway then has a new target for it):
    /// the order holds across it.</param>
    [SkippableTheory]
    [InlineData(1, false)]
    [InlineData(3, false)]
    [InlineData(1, true)]
    public async Task One_connections_publishes_through_a_silo_that_is_not_the_streams_home_are_stored_in_the_order_sent(int replicas, bool updateHalfway)
    {
        Skip.If(PostgresProcess.SkipReason is not null, PostgresProcess.SkipReason);
        await using var nodes = await Nodes.StartAsync(Postgres, $"puborder{replicas}{(updateHalfway ? "u" : "")}");
        var (clients, js) = (nodes.Clients, nodes.Js);
        var created = await js[0].CreateStreamAsync(new StreamConfig("PO", ["po.>"]) { NumReplicas = replicas });
        var away = (created.Info.Cluster!.Leader![0] - 'a' + 1) % 3;
        var client = clients[away];

        // Sent without waiting for acks (NATS.Net's JetStream publish waits for each), as async publishers do, and paced
        // (10 every millisecond or so) so the silo reads them in many small batches: a burst arrives in a few large
        // ones, which had too few calls on the way at once to be overtaken.
        const int count = 10_000;
        var inbox = $"_INBOX.order.{Guid.NewGuid():N}";
        var sequences = new ulong[count];
        await using var acks = await client.SubscribeCoreAsync<byte[]>(inbox + ".*");
        await client.PingAsync();
        for (int i = 0; i < count; i++)
        {
            await client.PublishAsync("po.m", $"m{i}", replyTo: $"{inbox}.{i}");
            if (i % 10 == 9)
                await Task.Delay(1);
            if (updateHalfway && i == count / 2)
                await js[0].UpdateStreamAsync(new StreamConfig("PO", ["po.>"]) { NumReplicas = replicas, MaxMsgs = 1_000_000 });
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        for (int received = 0; received < count; received++)
        {
            var ack = await acks.Msgs.ReadAsync(timeout.Token);
            using var json = JsonDocument.Parse(ack.Data!);
            Assert.True(json.RootElement.TryGetProperty("seq", out var seq) && seq.GetUInt64() > 0, $"publish ack: {System.Text.Encoding.UTF8.GetString(ack.Data!)}");
            sequences[int.Parse(ack.Subject.AsSpan(inbox.Length + 1))] = seq.GetUInt64();
        }

        var outOfOrder = Enumerable.Range(1, count - 1).Where(i => sequences[i] <= sequences[i - 1]).ToArray();
        Assert.True(outOfOrder.Length == 0,
            $"{outOfOrder.Length} publishes were stored before one sent ahead of them, e.g. #{outOfOrder.FirstOrDefault()}: seq {sequences[outOfOrder.FirstOrDefault()]} after {sequences[Math.Max(0, outOfOrder.FirstOrDefault() - 1)]}");
        Assert.Equal((ulong)count, sequences[^1]);
    }
}
