using System.Text;
using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests;

public sealed class AppendTests(ClusterFixture fixture) : GrainTestBase(fixture), IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task A_batch_gets_consecutive_sequences_in_frame_order()
    {
        var stream = await CreateAsync();
        var batch = new FrameBatch();
        for (int i = 0; i < 5; i++)
            batch.Add(stream.Subject(i % 2 == 0 ? "even" : "odd"), $"m{i}");

        var acks = await batch.AppendTo(stream.Grain);
        var next = await stream.Publish("even", "m5");

        Assert.Equal([1ul, 2ul, 3ul, 4ul, 5ul], acks.Select(a => a.Sequence));
        Assert.All(acks, a => Assert.Null(a.Error));
        Assert.All(acks, a => Assert.False(a.Duplicate));
        Assert.Equal(6ul, next.Sequence);
        var messages = await stream.All();
        Assert.Equal(["m0", "m1", "m2", "m3", "m4", "m5"], messages.Select(m => m.Text()));
        Assert.Equal(stream.Subject("odd"), messages[3].Subject);
        var state = await stream.State();
        Assert.Equal((1ul, 6ul, 6ul, 2), (state.FirstSequence, state.LastSequence, state.Messages, state.NumSubjects));
    }

    [Fact]
    public async Task Headers_and_payload_are_stored_as_published()
    {
        var stream = await CreateAsync();
        var payload = new byte[300];
        new Random(7).NextBytes(payload);
        var headers = Encoding.UTF8.GetBytes(FrameBatch.HeaderBlock(("X-Trace", "abc"), ("X-Other", "1")));

        var ack = (await new FrameBatch().Add(stream.Subject("bin"), payload, headers).AppendTo(stream.Grain)).Single();
        var stored = await stream.Get(ack.Sequence);

        Assert.Equal(payload, stored.Payload);
        Assert.Equal(headers, stored.Headers);
        Assert.Equal(stream.Subject("bin"), stored.Subject);
        long now = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        Assert.InRange(stored.TimestampNanos, now - 60_000_000_000, now + 1_000_000_000);
    }

    [Fact]
    public async Task A_repeated_msg_id_is_acked_as_a_duplicate_of_the_original()
    {
        var stream = await CreateAsync();
        var acks = await new FrameBatch()
            .Add(stream.Subject("a"), "first", ("Nats-Msg-Id", "id-1"))
            .Add(stream.Subject("a"), "again in the same batch", ("Nats-Msg-Id", "id-1"))
            .Add(stream.Subject("a"), "other", ("Nats-Msg-Id", "id-2"))
            .AppendTo(stream.Grain);
        var later = await stream.Publish("b", "again later", ("Nats-Msg-Id", "id-1"));

        Assert.Equal([(1ul, false), (1ul, true), (2ul, false)], acks.Select(a => (a.Sequence, a.Duplicate)));
        Assert.Equal((1ul, true, (ApiError?)null), (later.Sequence, later.Duplicate, later.Error));
        Assert.Equal(["first", "other"], (await stream.All()).Select(m => m.Text()));
    }

    [Fact]
    public async Task A_msg_id_is_forgotten_after_the_duplicate_window()
    {
        var stream = await CreateAsync(NewConfig() with { DuplicateWindow = 200_000_000 });
        Assert.Equal(1ul, (await stream.Publish("a", "x", ("Nats-Msg-Id", "id"))).Sequence);
        Assert.True((await stream.Publish("a", "x", ("Nats-Msg-Id", "id"))).Duplicate);

        await Task.Delay(400);
        var after = await stream.Publish("a", "x", ("Nats-Msg-Id", "id"));

        Assert.Equal((2ul, false), (after.Sequence, after.Duplicate));
    }

    [Fact]
    public async Task Expected_stream_must_name_this_stream()
    {
        var stream = await CreateAsync();
        var wrong = await stream.Publish("a", "x", ("Nats-Expected-Stream", "Other"));
        var right = await stream.Publish("a", "x", ("Nats-Expected-Stream", stream.Name));

        Assert.Equal(10060, wrong.Error?.ErrCode);
        Assert.Equal(0ul, wrong.Sequence);
        Assert.Equal(1ul, right.Sequence);
        Assert.Null(right.Error);
    }

    [Fact]
    public async Task Expected_last_sequence_is_checked_against_the_stream()
    {
        var stream = await CreateAsync();
        var onEmpty = await stream.Publish("a", "x", ("Nats-Expected-Last-Sequence", "0"));
        await stream.Publish("b");
        var wrong = await stream.Publish("a", "x", ("Nats-Expected-Last-Sequence", "1"));
        var right = await stream.Publish("a", "x", ("Nats-Expected-Last-Sequence", "2"));

        Assert.Equal(1ul, onEmpty.Sequence);
        Assert.Equal(10071, wrong.Error?.ErrCode);
        Assert.Equal("wrong last sequence: 2", wrong.Error?.Description);
        Assert.Equal(3ul, right.Sequence);
    }

    [Fact]
    public async Task Expected_last_msg_id_is_checked_against_the_id_of_the_last_message()
    {
        var stream = await CreateAsync();
        var none = await stream.Publish("a", "x", ("Nats-Expected-Last-Msg-Id", "id-0"));
        await stream.Publish("a", "x", ("Nats-Msg-Id", "id-1"));
        var wrong = await stream.Publish("a", "x", ("Nats-Expected-Last-Msg-Id", "id-0"));
        var right = await stream.Publish("a", "x", ("Nats-Expected-Last-Msg-Id", "id-1"), ("Nats-Msg-Id", "id-2"));
        await stream.Publish("a", "without an id");
        var afterMessageWithoutId = await stream.Publish("a", "x", ("Nats-Expected-Last-Msg-Id", "id-2"));

        Assert.Equal(10070, none.Error?.ErrCode);
        Assert.Equal(10070, wrong.Error?.ErrCode);
        Assert.Equal("wrong last msg ID: id-1", wrong.Error?.Description);
        Assert.Equal(2ul, right.Sequence);
        // nats-server tracks the id of the last message stored, which a message without one clears.
        Assert.Equal(10070, afterMessageWithoutId.Error?.ErrCode);
        Assert.Equal("wrong last msg ID: ", afterMessageWithoutId.Error?.Description);
    }

    [Fact]
    public async Task Expected_last_subject_sequence_is_checked_per_subject()
    {
        var stream = await CreateAsync();
        var firstOnSubject = await stream.Publish("a", "x", ("Nats-Expected-Last-Subject-Sequence", "0"));
        await stream.Publish("b");
        var wrong = await stream.Publish("a", "x", ("Nats-Expected-Last-Subject-Sequence", "2"));
        var right = await stream.Publish("a", "x", ("Nats-Expected-Last-Subject-Sequence", "1"));
        var otherSubject = await stream.Publish("c", "x", ("Nats-Expected-Last-Subject-Sequence", "1"));

        Assert.Equal(1ul, firstOnSubject.Sequence);
        Assert.Equal(10071, wrong.Error?.ErrCode);
        Assert.Equal("wrong last sequence: 1", wrong.Error?.Description);
        Assert.Equal(3ul, right.Sequence);
        Assert.Equal(10071, otherSubject.Error?.ErrCode);
    }

    [Fact]
    public async Task Failed_checks_in_a_batch_do_not_stop_the_messages_after_them()
    {
        var stream = await CreateAsync();
        var acks = await new FrameBatch()
            .Add(stream.Subject("a"), "ok")
            .Add(stream.Subject("a"), "refused", ("Nats-Expected-Last-Sequence", "9"))
            .Add(stream.Subject("a"), "ok too")
            .AppendTo(stream.Grain);

        Assert.Equal([1ul, 0ul, 2ul], acks.Select(a => a.Sequence));
        Assert.Equal(10071, acks[1].Error?.ErrCode);
        Assert.Equal(["ok", "ok too"], (await stream.All()).Select(m => m.Text()));
    }

    [Fact]
    public async Task Rollup_headers_need_allow_rollup()
    {
        var stream = await CreateAsync();
        var ack = await stream.Publish("a", "x", ("Nats-Rollup", "sub"));
        Assert.Equal(10111, ack.Error?.ErrCode);
        Assert.Equal(0ul, (await stream.State()).Messages);
    }

    [Fact]
    public async Task Rollup_sub_keeps_only_the_rollup_message_on_its_subject()
    {
        var stream = await CreateAsync(NewConfig() with { AllowRollupHeaders = true });
        await stream.Publish("a", "a1");
        await stream.Publish("b", "b1");
        await stream.Publish("a", "a2");

        var rollup = await stream.Publish("a", "a-rollup", ("Nats-Rollup", "sub"));

        Assert.Equal(4ul, rollup.Sequence);
        Assert.Equal(["b1", "a-rollup"], (await stream.All()).Select(m => m.Text()));
    }

    [Fact]
    public async Task Rollup_all_keeps_only_the_rollup_message()
    {
        var stream = await CreateAsync(NewConfig() with { AllowRollupHeaders = true });
        await stream.Publish("a", "a1");
        await stream.Publish("b", "b1");

        var rollup = await stream.Publish("c", "snapshot", ("Nats-Rollup", "all"));

        Assert.Equal(3ul, rollup.Sequence);
        Assert.Equal(new ulong[] { 3ul }, await stream.Sequences());
        var state = await stream.State();
        Assert.Equal((3ul, 3ul, 1ul), (state.FirstSequence, state.LastSequence, state.Messages));
    }

    [Fact]
    public async Task An_unknown_rollup_value_is_refused()
    {
        var stream = await CreateAsync(NewConfig() with { AllowRollupHeaders = true });
        var ack = await stream.Publish("a", "x", ("Nats-Rollup", "everything"));
        Assert.Equal(10111, ack.Error?.ErrCode);
    }

    [Fact]
    public async Task Max_msg_size_counts_headers_and_payload()
    {
        var stream = await CreateAsync(NewConfig() with { MaxMsgSize = 100 });
        var headers = FrameBatch.HeaderBlock(("X-Pad", "y"));

        var atLimit = await stream.Publish("a", new string('x', 100));
        var over = await stream.Publish("a", new string('x', 101));
        var overWithHeaders = await stream.Publish("a", new string('x', 101 - Encoding.UTF8.GetByteCount(headers)), ("X-Pad", "y"));

        Assert.Equal(1ul, atLimit.Sequence);
        Assert.Equal(10054, over.Error?.ErrCode);
        Assert.Equal(10054, overWithHeaders.Error?.ErrCode);
        Assert.Equal(1ul, (await stream.State()).Messages);
    }

    [Fact]
    public async Task Appending_to_a_stream_that_does_not_exist_fails_every_message()
    {
        var grain = Fixture.Grains.GetGrain<IStreamGrain>("Missing");
        var acks = await new FrameBatch().Add("Missing.a", "x").Add("Missing.b", "y").AppendTo(grain);
        Assert.All(acks, a => Assert.Equal(10059, a.Error?.ErrCode));
    }

    [Fact]
    public async Task A_large_batch_is_appended_whole()
    {
        var stream = await CreateAsync();
        var batch = new FrameBatch();
        var payload = new byte[128];
        for (int i = 0; i < 1000; i++)
            batch.Add(stream.Subject($"k{i % 10}"), payload, default);

        var acks = await batch.AppendTo(stream.Grain);

        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (ulong)i), acks.Select(a => a.Sequence));
        var info = await stream.Info(subjectsFilter: ">");
        Assert.Equal(1000ul, info.State.Messages);
        Assert.Equal(10, info.Subjects!.Count);
        Assert.All(info.Subjects.Values, count => Assert.Equal(100ul, count));
    }
}
