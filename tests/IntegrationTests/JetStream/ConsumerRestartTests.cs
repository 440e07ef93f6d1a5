using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// A durable consumer's state survives restarts: after a graceful stop nothing acked comes back; after SIGKILL
/// nothing unacked is skipped (some acked messages may come again: at-least-once).
/// </summary>
public sealed class ConsumerRestartTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Durable_consumer_resumes_after_restart(bool kill)
    {
        var silo = await SiloProcess.StartAsync();
        var dataDirectory = silo.DataDirectory;
        var acked = new HashSet<int>();
        await using (var nats = new NatsConnection(new NatsOpts { Url = silo.Url }))
        {
            var js = nats.CreateJetStreamContext();
            await js.CreateStreamAsync(new StreamConfig("WORK", ["work.>"]));
            for (int i = 0; i < 100; i++)
                (await js.PublishAsync("work.item", i)).EnsureSuccess();
            var consumer = await js.CreateOrUpdateConsumerAsync("WORK", new ConsumerConfig("durable") { AckPolicy = ConsumerConfigAckPolicy.Explicit, AckWait = TimeSpan.FromSeconds(2) });
            await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 60, Expires = TimeSpan.FromSeconds(3) }))
            {
                // Leave every tenth message unacked: it must come back after the restart.
                if (msg.Data % 10 == 0)
                    continue;
                await msg.AckAsync(new AckOpts { DoubleAck = true });
                acked.Add(msg.Data);
            }
            Assert.Equal(54, acked.Count);
        }
        if (kill)
        {
            // Acks are saved within a second; give the save a chance so the graceful case is not the only one with data.
            await Task.Delay(2500);
            silo.Kill();
        }
        else
        {
            await silo.StopAsync();
        }
        await silo.DisposeAsync();

        await using var restarted = await SiloProcess.StartAsync(dataDirectory: dataDirectory);
        await using var client = new NatsConnection(new NatsOpts { Url = restarted.Url });
        var context = client.CreateJetStreamContext();
        var durable = await context.GetConsumerAsync("WORK", "durable");
        Assert.Equal(6, durable.Info.NumAckPending);
        var received = new List<int>();
        // The new forty come at once; the six left unacked come back once their ack_wait (2 s) has passed.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (received.Count < 46 && DateTime.UtcNow < deadline)
        {
            await foreach (var msg in durable.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 46, Expires = TimeSpan.FromSeconds(1) }))
            {
                received.Add(msg.Data);
                await msg.AckAsync();
            }
        }
        var expected = Enumerable.Range(60, 40).Concat(Enumerable.Range(0, 6).Select(i => i * 10));
        Assert.Equal(expected.Order(), received.Order());
        Assert.Empty(acked.Intersect(received));
        var info = (await context.GetConsumerAsync("WORK", "durable")).Info;
        Assert.Equal(100ul, info.Delivered.StreamSeq);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AckSync_acks_survive_kill_9(bool syncAlways)
    {
        // With sync always, AckSync answers also wait for the journal's group-committed fsync.
        var silo = await SiloProcess.StartAsync(extraArgs: await JetStreamSteps.SyncArgsAsync(syncAlways));
        var dataDirectory = silo.DataDirectory;
        await using (var nats = new NatsConnection(new NatsOpts { Url = silo.Url }))
        {
            var js = nats.CreateJetStreamContext();
            await js.CreateStreamAsync(new StreamConfig("SYNCACK", ["syncack.>"]));
            for (int i = 0; i < 300; i++)
                (await js.PublishAsync("syncack.item", i)).EnsureSuccess();
            var consumer = await js.CreateOrUpdateConsumerAsync("SYNCACK", new ConsumerConfig("durable") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
            Assert.Equal(300, await JetStreamSteps.FetchAndAckAsync(consumer, 300));
            // At once, before the client closes: the consumer's periodic snapshot (every second) is behind the acks.
            silo.Kill();
        }
        await silo.DisposeAsync();

        await using var restarted = await SiloProcess.StartAsync(dataDirectory: dataDirectory);
        await using var client = new NatsConnection(new NatsOpts { Url = restarted.Url });
        var info = (await client.CreateJetStreamContext().GetConsumerAsync("SYNCACK", "durable")).Info;
        Assert.Equal(300ul, info.AckFloor.StreamSeq);
        Assert.Equal(0, info.NumAckPending);
        Assert.Equal(300ul, info.Delivered.StreamSeq);
    }

    [Fact]
    public async Task A_message_whose_ack_wait_ran_out_while_down_is_redelivered_at_once()
    {
        var silo = await SiloProcess.StartAsync();
        var dataDirectory = silo.DataDirectory;
        var ackWait = TimeSpan.FromSeconds(4);
        DateTime delivered;
        await using (var nats = new NatsConnection(new NatsOpts { Url = silo.Url }))
        {
            var js = nats.CreateJetStreamContext();
            await js.CreateStreamAsync(new StreamConfig("WAIT", ["wait.>"]));
            for (int i = 1; i <= 5; i++)
                (await js.PublishAsync("wait.item", i)).EnsureSuccess();
            var consumer = await js.CreateOrUpdateConsumerAsync("WAIT", new ConsumerConfig("durable") { AckPolicy = ConsumerConfigAckPolicy.Explicit, AckWait = ackWait });
            delivered = DateTime.UtcNow;
            await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 5, Expires = TimeSpan.FromSeconds(2) }))
            {
                // The first stays unacked: it holds the ack floor down until it is redelivered and acked.
                if (msg.Data != 1)
                    await msg.AckAsync(new AckOpts { DoubleAck = true });
            }
            // Past the periodic snapshot as well, so the state on disk is the same with or without the journal.
            await Task.Delay(1500);
        }
        silo.Kill();
        await silo.DisposeAsync();
        var sinceDelivery = DateTime.UtcNow - delivered;
        if (sinceDelivery < ackWait)
            await Task.Delay(ackWait - sinceDelivery);

        await using var restarted = await SiloProcess.StartAsync(dataDirectory: dataDirectory);
        await using var client = new NatsConnection(new NatsOpts { Url = restarted.Url });
        var durable = await client.CreateJetStreamContext().GetConsumerAsync("WAIT", "durable");
        Assert.Equal(0ul, durable.Info.AckFloor.StreamSeq);
        Assert.Equal(1, durable.Info.NumAckPending);
        var redelivered = new List<(int Data, ulong Deliveries)>();
        // Well within one ack wait: the message's deadline passed while the silo was down.
        await foreach (var msg in durable.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = 5, Expires = TimeSpan.FromSeconds(1.5) }))
        {
            redelivered.Add((msg.Data, msg.Metadata!.Value.NumDelivered));
            await msg.AckAsync(new AckOpts { DoubleAck = true });
        }
        Assert.Equal([(1, 2ul)], redelivered);
        Assert.Equal(5ul, (await client.CreateJetStreamContext().GetConsumerAsync("WAIT", "durable")).Info.AckFloor.StreamSeq);
    }
}

/// <summary>Interest retention keeps working across a restart and after a consumer is deleted.</summary>
public sealed class InterestRestartTests
{
    [Fact]
    public async Task Acks_after_a_restart_and_a_deleted_consumer_release_interest()
    {
        var silo = await SiloProcess.StartAsync();
        var dataDirectory = silo.DataDirectory;
        await using (var nats = new NatsConnection(new NatsOpts { Url = silo.Url }))
        {
            var js = nats.CreateJetStreamContext();
            await js.CreateStreamAsync(new StreamConfig("INTEREST", ["interest.>"]) { Retention = StreamConfigRetention.Interest });
            var a = await js.CreateOrUpdateConsumerAsync("INTEREST", new ConsumerConfig("a") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
            await js.CreateOrUpdateConsumerAsync("INTEREST", new ConsumerConfig("b") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
            for (int i = 0; i < 4; i++)
                (await js.PublishAsync("interest.x", i)).EnsureSuccess();
            Assert.Equal(4, await JetStreamSteps.FetchAndAckAsync(a, 4));
            // Consumer a's acks must be saved before the restart (they are, within a second).
            await Task.Delay(1500);
        }
        await silo.StopAsync();
        await silo.DisposeAsync();

        await using var restarted = await SiloProcess.StartAsync(dataDirectory: dataDirectory);
        await using var client = new NatsConnection(new NatsOpts { Url = restarted.Url });
        var context = client.CreateJetStreamContext();
        Assert.Equal(4, (await context.GetStreamAsync("INTEREST")).Info.State.Messages);
        var b = await context.GetConsumerAsync("INTEREST", "b");
        Assert.Equal(2, await JetStreamSteps.FetchAndAckAsync(b, 2));
        Assert.Equal(2, await JetStreamSteps.MessagesEventuallyAsync(context, "INTEREST", 2));
        // Deleting b releases the interest it still held in the last two.
        await context.DeleteConsumerAsync("INTEREST", "b");
        Assert.Equal(0, await JetStreamSteps.MessagesEventuallyAsync(context, "INTEREST", 0));
    }
}
