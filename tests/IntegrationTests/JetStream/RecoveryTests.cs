using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// Recovery after SIGKILL as a client sees it, with the log recovered from its checkpoint plus what changed after it
/// (appends, deletes, a subject purge) and the msg ids read back in the background: sequences continue, a retried
/// msg id from before or after the checkpoint gets a duplicate ack, and the counts are what was acknowledged.
/// </summary>
public sealed class RecoveryTests
{
    [Fact]
    public async Task After_kill_9_sequences_counts_and_duplicates_are_as_acknowledged()
    {
        var first = await SiloProcess.StartAsync();
        var dataDirectory = first.DataDirectory;
        await using (var nats = new NatsConnection(new NatsOpts { Url = first.Url }))
        {
            var js = nats.CreateJetStreamContext();
            await js.CreateStreamAsync(new StreamConfig("RECOVER", ["recover.>"]));
            await PublishAsync(js, 1, 600);
        }
        // A clean stop leaves a checkpoint: the next open reads it and only what comes after.
        await first.StopAsync();
        await first.DisposeAsync();

        var second = await SiloProcess.StartAsync(dataDirectory: dataDirectory);
        await using (var nats = new NatsConnection(new NatsOpts { Url = second.Url }))
        {
            var js = nats.CreateJetStreamContext();
            await PublishAsync(js, 601, 900);
            var stream = await js.GetStreamAsync("RECOVER");
            Assert.True((await stream.DeleteMessageAsync(new StreamMsgDeleteRequest { Seq = 11 })).Success);
            Assert.True((await stream.DeleteMessageAsync(new StreamMsgDeleteRequest { Seq = 701 })).Success);
            Assert.Equal(90L, (long)(await stream.PurgeAsync(new StreamPurgeRequest { Filter = "recover.purged" })).Purged);
        }
        second.Kill();
        await second.DisposeAsync();

        await using var third = await SiloProcess.StartAsync(dataDirectory: dataDirectory);
        await using var client = new NatsConnection(new NatsOpts { Url = third.Url });
        var context = client.CreateJetStreamContext();

        // The first publish after the restart carries no msg id: it does not wait for the msg ids to be read back.
        var next = await context.PublishAsync("recover.after", "plain");
        Assert.Equal(901UL, next.Seq);
        foreach (int i in new[] { 2, 598, 602, 652, 898 })
        {
            var retried = await context.PublishAsync($"recover.id", $"retry-{i}", opts: new NatsJSPubOpts { MsgId = $"id-{i}" });
            Assert.True(retried.Duplicate, $"id-{i} was not a duplicate");
            Assert.Equal((ulong)i, retried.Seq);
        }
        var fresh = await context.PublishAsync("recover.id", "fresh", opts: new NatsJSPubOpts { MsgId = "id-new" });
        Assert.Equal(902UL, fresh.Seq);
        // The ids read back after the restart must not replace the last msg id the publishes since then set.
        var expecting = await context.PublishAsync("recover.id", "expecting", opts: new NatsJSPubOpts { ExpectedLastMsgId = "id-new" });
        Assert.Equal(903UL, expecting.Seq);

        var info = (await context.GetStreamAsync("RECOVER")).Info.State;
        // 900 published, 2 deleted, 90 purged, 3 after the restart.
        Assert.Equal(900L - 2 - 90 + 3, info.Messages);
        Assert.Equal(1UL, info.FirstSeq);
        Assert.Equal(903UL, info.LastSeq);
        Assert.Equal(2L + 90, (long)info.NumDeleted);
        // Read from the checkpoint the clean stop left: the 269 live messages after it (601..900 less one deleted and
        // 30 purged), and two journaled removals (the delete of 11 and the purge; 701 was after the checkpoint).
        Assert.Contains("Recovered log of stream RECOVER", third.Output);
        Assert.Contains("from its checkpoint, 269 messages read, 2 journaled removals", third.Output);
    }

    /// <summary>Every even message carries a msg id, every tenth goes to the subject that is purged later.</summary>
    private static async Task PublishAsync(INatsJSContext js, int from, int to)
    {
        for (int i = from; i <= to; i++)
        {
            var subject = i % 10 == 0 ? "recover.purged" : $"recover.{i % 3}";
            var opts = i % 2 == 0 || i == to ? new NatsJSPubOpts { MsgId = $"id-{i}" } : null;
            var ack = await js.PublishAsync(subject, $"payload-{i}", opts: opts);
            ack.EnsureSuccess();
            Assert.Equal((ulong)i, ack.Seq);
        }
    }
}
