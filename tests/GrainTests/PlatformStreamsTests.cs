using System.Text;
using Platform.Grains.Client;
using Platform.Grains.Consumers;
using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests;

public sealed class PlatformStreamsTests(ClusterFixture fixture) : GrainTestBase(fixture), IClassFixture<ClusterFixture>
{
    private PlatformStreams Client => new(Fixture.Grains);

    [Fact]
    public async Task Batch_publish_returns_acks_in_order_and_consume_reads_them_back_with_headers()
    {
        var config = NewConfig("PS");
        var info = await Client.CreateStreamAsync(config);
        Assert.Equal(config.Name, info.Config.Name);

        var batch = Enumerable.Range(0, 10)
            .Select(i => new OutgoingMessage($"{config.Name}.{i % 3}", Encoding.UTF8.GetBytes($"m{i}"),
                i == 4 ? new Dictionary<string, string> { ["X-Trace"] = "t4" } : null))
            .ToArray();
        var acks = await Client.PublishAsync(config.Name, batch);
        var single = await Client.PublishAsync(config.Name, $"{config.Name}.x", "last"u8.ToArray());

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (ulong)i), acks.Select(a => a.Sequence));
        Assert.All(acks, a => Assert.Null(a.Error));
        Assert.Equal(11ul, single.Sequence);

        var got = await Take(Client.ConsumeAsync(config.Name, "reader", new ConsumeOptions { BatchSize = 4 }), 11);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"m{i}").Append("last"), got.Select(m => Encoding.UTF8.GetString(m.Payload.Span)));
        Assert.Equal(Enumerable.Range(1, 11).Select(i => (ulong)i), got.Select(m => m.StreamSequence));
        Assert.Equal($"{config.Name}.1", got[4].Subject);
        Assert.Equal("t4", got[4].Headers["X-Trace"]);
        Assert.Empty(got[0].Headers);
        Assert.All(got, m => Assert.Equal(1u, m.Deliveries));
    }

    [Fact]
    public async Task Publishes_to_a_partitioned_stream_go_to_the_partition_of_their_subject()
    {
        var config = NewConfig("PSP") with { Partitions = 3 };
        await Client.CreateStreamAsync(config);
        var subjects = Enumerable.Range(0, 30).Select(i => $"{config.Name}.k{i}").ToArray();
        var acks = await Client.PublishAsync(config.Name, subjects.Select(s => new OutgoingMessage(s, "x"u8.ToArray(), null)).ToList());
        Assert.All(acks, a => Assert.Null(a.Error));

        for (int p = 0; p < 3; p++)
        {
            var partition = new TestStream(config.Name, Fixture.Grains.GetGrain<IStreamGrain>(StreamKeys.Partition(config.Name, p)));
            var stored = (await partition.All()).Select(m => m.Subject).ToArray();
            Assert.Equal(subjects.Where(s => StreamKeys.PartitionOf(s, 3) == p), stored);
        }
    }

    [Fact]
    public async Task Subjects_outside_the_stream_or_not_valid_are_refused_and_not_stored()
    {
        var config = NewConfig("PSV");
        await Client.CreateStreamAsync(config);
        var outside = await Assert.ThrowsAsync<PlatformStreamException>(() => Client.PublishAsync(config.Name, "elsewhere.x", "x"u8.ToArray()));
        Assert.Equal(10003, outside.Error.ErrCode);
        // Subjects no NATS client could receive are refused before the call, naming the subject, and a batch holding
        // one sends nothing at all.
        foreach (var subject in new[] { $"{config.Name}.a b", $"{config.Name}..a", $"{config.Name}.*", $"{config.Name}.>", config.Name + ".", $"{config.Name}.a\tb" })
        {
            var error = await Assert.ThrowsAsync<ArgumentException>(() => Client.PublishAsync(config.Name, subject, "x"u8.ToArray()));
            Assert.Contains($"\"{subject}\" is not a valid subject", error.Message);
        }
        await Assert.ThrowsAsync<ArgumentException>(() => Client.PublishAsync(config.Name,
            [new OutgoingMessage($"{config.Name}.good", "x"u8.ToArray()), new OutgoingMessage($"{config.Name}.a b", "x"u8.ToArray())]));
        Assert.Equal(1ul, (await Client.PublishAsync(config.Name, $"{config.Name}.ok", "x"u8.ToArray())).Sequence);
    }

    [Fact]
    public async Task A_partition_refuses_a_subject_that_hashes_to_another()
    {
        var config = NewConfig("PSW") with { Partitions = 2 };
        await Client.CreateStreamAsync(config);
        var subject = Enumerable.Range(0, 10).Select(i => $"{config.Name}.k{i}").First(s => StreamKeys.PartitionOf(s, 2) == 0);
        var wrong = Fixture.Grains.GetGrain<IStreamGrain>(StreamKeys.Partition(config.Name, 1));
        var ack = (await new FrameBatch().Add(subject, "x").AppendTo(wrong)).Single();
        Assert.Equal(10003, ack.Error?.ErrCode);
        Assert.Equal(0ul, (await new TestStream(config.Name, wrong).State()).Messages);
    }

    [Fact]
    public async Task Consumed_batches_are_acked_so_a_second_loop_resumes_after_them()
    {
        var config = NewConfig("PS");
        await Client.CreateStreamAsync(config);
        await Client.PublishAsync(config.Name, Messages(config.Name, 0, 6));

        // Leave on the fourth message: the first three are acked, the fourth is handed back with a nak.
        var first = await Take(Client.ConsumeAsync(config.Name, "durable", new ConsumeOptions { BatchSize = 2 }), 4);
        Assert.Equal([1ul, 2ul, 3ul, 4ul], first.Select(m => m.StreamSequence));

        var consumer = Fixture.Grains.GetGrain<IConsumerGrain>(ConsumerKey.Of(config.Name, "durable"));
        var state = await consumer.Info();
        Assert.Equal(3ul, state!.AckFloor.StreamSeq);
        Assert.Equal(AckPolicy.Explicit, state.Config.AckPolicy);

        // The next loop gets 4 again, then 5 and 6; completing the batch acks all three.
        var second = await Take(Client.ConsumeAsync(config.Name, "durable", new ConsumeOptions { BatchSize = 3 }), 4,
            stopAfterBatch: true);
        Assert.Equal([(4ul, 2u), (5ul, 1u), (6ul, 1u)], second.Select(m => (m.StreamSequence, m.Deliveries)));
        state = await consumer.Info();
        Assert.Equal(6ul, state!.AckFloor.StreamSeq);
        Assert.Equal(0, state.NumAckPending);
    }

    [Fact]
    public async Task Leaving_mid_batch_hands_the_unfinished_messages_back_without_waiting_for_the_ack_wait()
    {
        var config = NewConfig("PS");
        await Client.CreateStreamAsync(config);
        await Client.PublishAsync(config.Name, Messages(config.Name, 0, 3));
        // The default ack wait is 30 s: a redelivery within the test's timeout can only come from the nak.
        var first = await Take(Client.ConsumeAsync(config.Name, "redeliver"), 1);
        var again = await Take(Client.ConsumeAsync(config.Name, "redeliver"), 3);

        Assert.Equal(1ul, first[0].StreamSequence);
        Assert.Equal([1ul, 2ul, 3ul], again.Select(m => m.StreamSequence).Order());
        Assert.All(again, m => Assert.Equal(2u, m.Deliveries));
    }

    [Fact]
    public async Task Errors_surface_as_exceptions_or_error_acks()
    {
        var config = NewConfig("PS");
        await Client.CreateStreamAsync(config);
        await Assert.ThrowsAsync<PlatformStreamException>(() => Client.CreateStreamAsync(config with { Subjects = ["other.>"] }));

        var dedup = new Dictionary<string, string> { ["Nats-Msg-Id"] = "one" };
        var acks = await Client.PublishAsync(config.Name,
        [
            new OutgoingMessage($"{config.Name}.a", "x"u8.ToArray(), dedup),
            new OutgoingMessage($"{config.Name}.a", "x"u8.ToArray(), dedup),
            new OutgoingMessage($"{config.Name}.a", "y"u8.ToArray(), new Dictionary<string, string> { ["Nats-Expected-Last-Sequence"] = "7" }),
        ]);
        Assert.Equal((1ul, false), (acks[0].Sequence, acks[0].Duplicate));
        Assert.True(acks[1].Duplicate);
        Assert.Equal(10071, acks[2].Error?.ErrCode);
        var ex = await Assert.ThrowsAsync<PlatformStreamException>(() => Client.PublishAsync(config.Name, $"{config.Name}.a", "z"u8.ToArray(),
            new Dictionary<string, string> { ["Nats-Expected-Last-Sequence"] = "7" }));
        Assert.Equal(10071, ex.Error.ErrCode);
    }

    [Fact]
    public async Task Stream_info_update_list_and_delete_go_through_the_catalog()
    {
        var config = NewConfig("PSA");
        await Client.CreateStreamAsync(config);
        await Client.PublishAsync(config.Name, Messages(config.Name, 0, 5));
        var info = await Client.GetStreamInfoAsync(config.Name);
        Assert.Equal((5ul, 1ul, 5ul), (info.State.Messages, info.State.FirstSequence, info.State.LastSequence));

        var updated = await Client.UpdateStreamAsync(config with { MaxMsgs = 100, Subjects = [$"{config.Name}.>", $"{config.Name}x.*"] });
        Assert.Equal(100, updated.Config.MaxMsgs);
        Assert.Equal(100, (await Client.GetStreamInfoAsync(config.Name)).Config.MaxMsgs);
        Assert.Equal(1ul, (await Client.PublishAsync(config.Name, $"{config.Name}x.new", "x"u8.ToArray())).Sequence - 5);
        var refused = await Assert.ThrowsAsync<PlatformStreamException>(() => Client.UpdateStreamAsync(config with { Storage = StorageType.Memory }));
        Assert.Equal(10052, refused.Error.ErrCode);
        Assert.Contains(await Client.ListStreamsAsync(), c => c.Name == config.Name);

        Assert.True(await Client.DeleteStreamAsync(config.Name));
        Assert.False(await Client.DeleteStreamAsync(config.Name));
        var gone = await Assert.ThrowsAsync<PlatformStreamException>(() => Client.GetStreamInfoAsync(config.Name));
        Assert.Equal(10059, gone.Error.ErrCode);
        Assert.DoesNotContain(await Client.ListStreamsAsync(), c => c.Name == config.Name);
    }

    [Fact]
    public async Task Info_and_purge_of_a_partitioned_stream_cover_every_partition()
    {
        var config = NewConfig("PSQ") with { Partitions = 3 };
        await Client.CreateStreamAsync(config);
        await Client.PublishAsync(config.Name, Enumerable.Range(0, 30).Select(i => new OutgoingMessage($"{config.Name}.k{i}", "x"u8.ToArray())).ToList());
        Assert.Equal(30ul, (await Client.GetStreamInfoAsync(config.Name)).State.Messages);

        ulong filtered = await Client.PurgeStreamAsync(config.Name, filter: $"{config.Name}.k1");
        Assert.Equal(1ul, filtered);
        Assert.Equal(29ul, await Client.PurgeStreamAsync(config.Name));
        Assert.Equal(0ul, (await Client.GetStreamInfoAsync(config.Name)).State.Messages);

        var last = await Client.PublishAsync(config.Name, $"{config.Name}.k7", "seven"u8.ToArray());
        var message = await Client.GetLastMessageAsync(config.Name, $"{config.Name}.k7");
        Assert.Equal(("seven", last.Sequence), (Encoding.UTF8.GetString(message.Payload.Span), message.Sequence));
    }

    [Fact]
    public async Task Messages_are_read_by_sequence_or_last_subject_and_deleted()
    {
        var config = NewConfig("PSM");
        await Client.CreateStreamAsync(config);
        await Client.PublishAsync(config.Name, $"{config.Name}.a", "one"u8.ToArray(), new Dictionary<string, string> { ["X-N"] = "1" });
        await Client.PublishAsync(config.Name, $"{config.Name}.b", "two"u8.ToArray());
        await Client.PublishAsync(config.Name, $"{config.Name}.a", "three"u8.ToArray());

        var first = await Client.GetMessageAsync(config.Name, 1);
        Assert.Equal((config.Name, $"{config.Name}.a", 1ul, "one", "1"),
            (first.Stream, first.Subject, first.Sequence, Encoding.UTF8.GetString(first.Payload.Span), first.Headers["X-N"]));
        Assert.True(first.Timestamp > DateTime.UtcNow.AddMinutes(-1) && first.Timestamp <= DateTime.UtcNow);
        Assert.Equal(3ul, (await Client.GetLastMessageAsync(config.Name, $"{config.Name}.a")).Sequence);

        await Client.DeleteMessageAsync(config.Name, 1);
        await Client.DeleteMessageAsync(config.Name, 2, erase: true);
        Assert.Equal(10037, (await Assert.ThrowsAsync<PlatformStreamException>(() => Client.GetMessageAsync(config.Name, 1))).Error.ErrCode);
        Assert.Equal(10037, (await Assert.ThrowsAsync<PlatformStreamException>(() => Client.GetMessageAsync(config.Name, 2))).Error.ErrCode);
        await Assert.ThrowsAsync<PlatformStreamException>(() => Client.DeleteMessageAsync(config.Name, 1));
        Assert.Equal(1ul, (await Client.GetStreamInfoAsync(config.Name)).State.Messages);
        Assert.Equal(10037, (await Assert.ThrowsAsync<PlatformStreamException>(() => Client.GetLastMessageAsync(config.Name, $"{config.Name}.b"))).Error.ErrCode);
    }

    [Fact]
    public async Task Consumers_are_created_listed_read_and_deleted()
    {
        var config = NewConfig("PSC");
        await Client.CreateStreamAsync(config);
        await Client.PublishAsync(config.Name, Messages(config.Name, 0, 4));

        var info = await Client.CreateConsumerAsync(config.Name, new PlatformConsumerConfig { DurableName = "audit", AckPolicy = AckPolicy.Explicit, FilterSubject = $"{config.Name}.m" });
        Assert.Equal(("audit", 4ul), (info.Name, info.NumPending));
        await Client.CreateConsumerAsync(config.Name, new PlatformConsumerConfig { Name = "second", AckPolicy = AckPolicy.None });
        Assert.Equal(["audit", "second"], (await Client.ListConsumersAsync(config.Name)).Order());
        var bad = await Assert.ThrowsAsync<PlatformStreamException>(() => Client.CreateConsumerAsync(config.Name, new PlatformConsumerConfig { Name = "a.b" }));
        Assert.Equal(10103, bad.Error.ErrCode);

        var got = await Take(Client.ConsumeAsync(config.Name, "audit"), 4, stopAfterBatch: true);
        Assert.Equal(4, got.Count);
        Assert.Equal(4ul, (await Client.GetConsumerInfoAsync(config.Name, "audit")).AckFloor.StreamSeq);

        await Client.DeleteConsumerAsync(config.Name, "audit");
        Assert.Equal(["second"], await Client.ListConsumersAsync(config.Name));
        Assert.Equal(10014, (await Assert.ThrowsAsync<PlatformStreamException>(() => Client.GetConsumerInfoAsync(config.Name, "audit"))).Error.ErrCode);
        Assert.Equal(10014, (await Assert.ThrowsAsync<PlatformStreamException>(() => Client.DeleteConsumerAsync(config.Name, "audit"))).Error.ErrCode);
        Assert.Equal(10059, (await Assert.ThrowsAsync<PlatformStreamException>(() => Client.GetConsumerInfoAsync("NOSUCH", "audit"))).Error.ErrCode);
        Assert.Equal(10059, (await Assert.ThrowsAsync<PlatformStreamException>(() => Client.ListConsumersAsync("NOSUCH"))).Error.ErrCode);
    }

    private static OutgoingMessage[] Messages(string stream, int from, int count) =>
        Enumerable.Range(from, count).Select(i => new OutgoingMessage($"{stream}.m", Encoding.UTF8.GetBytes($"m{i}"))).ToArray();

    /// <summary>Up to <paramref name="count"/> messages; with <paramref name="stopAfterBatch"/>, the loop instead runs
    /// until the consumer has nothing more (cancelled during an empty fetch), so every batch it took completes.</summary>
    private static async Task<List<ConsumedMessage>> Take(IAsyncEnumerable<ConsumedMessage> source, int count, bool stopAfterBatch = false)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var list = new List<ConsumedMessage>();
        var options = source.WithCancellation(timeout.Token);
        await foreach (var m in options)
        {
            list.Add(m);
            if (stopAfterBatch && (m.Pending == 0 || list.Count >= count))
                timeout.Cancel();
            else if (!stopAfterBatch && list.Count == count)
                break;
        }
        return list;
    }
}
