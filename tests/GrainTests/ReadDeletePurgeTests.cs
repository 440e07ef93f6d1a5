using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests;

public sealed class ReadDeletePurgeTests(ClusterFixture fixture) : GrainTestBase(fixture), IClassFixture<ClusterFixture>
{
    /// <summary>Sequences 1..6 on a, b, a, c, b, a with payloads a1, b1, a2, c1, b2, a3.</summary>
    private async Task<TestStream> CreateMixAsync(PlatformStreamConfig? config = null)
    {
        var stream = await CreateAsync(config ?? NewConfig());
        var batch = new FrameBatch();
        int a = 0, b = 0, c = 0;
        foreach (var token in new[] { "a", "b", "a", "c", "b", "a" })
            batch.Add(stream.Subject(token), token + (token == "a" ? ++a : token == "b" ? ++b : ++c));
        Assert.All(await batch.AppendTo(stream.Grain), ack => Assert.Null(ack.Error));
        return stream;
    }

    private static Task<StreamResult<StoredMessage>> Query(TestStream stream, ulong sequence = 0, string? last = null, string? next = null)
        => stream.Grain.GetMessage(new MessageQuery(sequence, last, next));

    [Fact]
    public async Task Get_by_sequence()
    {
        var stream = await CreateMixAsync();

        var message = await stream.Get(4);
        var missing = await Query(stream, 7);
        var noSelector = await Query(stream);

        Assert.Equal((stream.Subject("c"), 4ul, "c1"), (message.Subject, message.Sequence, message.Text()));
        Assert.Empty(message.Headers);
        Assert.Equal(10037, missing.Error?.ErrCode);
        Assert.Equal(10003, noSelector.Error?.ErrCode);
    }

    [Fact]
    public async Task Get_last_by_subject_with_and_without_wildcards()
    {
        var stream = await CreateMixAsync();

        var lastA = await Query(stream, last: stream.Subject("a"));
        var lastB = await Query(stream, last: stream.Subject("b"));
        var lastAny = await Query(stream, last: $"{stream.Name}.*");
        var none = await Query(stream, last: stream.Subject("zzz"));

        Assert.Equal((6ul, "a3"), (lastA.Value!.Sequence, lastA.Value.Text()));
        Assert.Equal((5ul, "b2"), (lastB.Value!.Sequence, lastB.Value.Text()));
        Assert.Equal(6ul, lastAny.Value!.Sequence);
        Assert.Equal(10037, none.Error?.ErrCode);
    }

    [Fact]
    public async Task Get_next_by_subject_from_a_sequence()
    {
        var stream = await CreateMixAsync();

        var fromStart = await Query(stream, 0, next: stream.Subject("b"));
        var fromThree = await Query(stream, 3, next: stream.Subject("b"));
        var afterLast = await Query(stream, 6, next: stream.Subject("b"));
        var anyFromFour = await Query(stream, 4, next: ">");

        Assert.Equal(2ul, fromStart.Value!.Sequence);
        Assert.Equal(5ul, fromThree.Value!.Sequence);
        Assert.Equal(10037, afterLast.Error?.ErrCode);
        Assert.Equal(4ul, anyFromFour.Value!.Sequence);
    }

    [Fact]
    public async Task Delete_message_leaves_a_gap()
    {
        var stream = await CreateMixAsync();

        var deleted = await stream.Grain.DeleteMessage(3, noErase: false);
        var again = await stream.Grain.DeleteMessage(3, noErase: false);
        var neverStored = await stream.Grain.DeleteMessage(99, noErase: true);

        Assert.True(deleted.Value);
        // nats-server's file store: a deleted sequence within the stream is not found, one past its end is EOF.
        Assert.Equal(ApiError.SequenceNotFound(3), again.Error);
        Assert.Equal(ApiError.DeleteFailed("stream store EOF"), neverStored.Error);
        Assert.Equal(10037, (await Query(stream, 3)).Error?.ErrCode);
        Assert.Equal(new ulong[] { 1ul, 2ul, 4ul, 5ul, 6ul }, await stream.Sequences());
        var info = await stream.Info(deletedDetails: true);
        Assert.Equal(new ulong[] { 3 }, info.Deleted!);
        Assert.Equal((5ul, 1), (info.State.Messages, info.State.NumDeleted));
    }

    [Fact]
    public async Task Deleting_the_last_message_does_not_reuse_its_sequence()
    {
        var stream = await CreateMixAsync();
        Assert.True((await stream.Grain.DeleteMessage(6, false)).Value);

        Assert.Equal(6ul, (await stream.State()).LastSequence);
        Assert.Equal(7ul, (await stream.Publish("a")).Sequence);
    }

    [Fact]
    public async Task Deny_delete_refuses_message_deletes()
    {
        var stream = await CreateMixAsync(NewConfig() with { DenyDelete = true });
        var result = await stream.Grain.DeleteMessage(1, false);
        Assert.Equal(10057, result.Error?.ErrCode);
        Assert.Equal("message delete not permitted", result.Error?.Description);
        Assert.Equal(6ul, (await stream.State()).Messages);
    }

    [Fact]
    public async Task Purge_everything_moves_the_first_sequence_past_the_last()
    {
        var stream = await CreateMixAsync();

        var purged = await stream.Grain.Purge(new PurgeRequest(null, 0, 0));

        Assert.Equal(6ul, purged.Value);
        var state = await stream.State();
        Assert.Equal((7ul, 6ul, 0ul, 0ul), (state.FirstSequence, state.LastSequence, state.Messages, state.Bytes));
        Assert.Equal(7ul, (await stream.Publish("a")).Sequence);
    }

    [Fact]
    public async Task Purge_by_subject_filter()
    {
        var stream = await CreateMixAsync();

        var purged = await stream.Grain.Purge(new PurgeRequest(stream.Subject("a"), 0, 0));

        Assert.Equal(3ul, purged.Value);
        Assert.Equal(["b1", "c1", "b2"], (await stream.All()).Select(m => m.Text()));
    }

    [Fact]
    public async Task Purge_below_a_sequence()
    {
        var stream = await CreateMixAsync();

        var purged = await stream.Grain.Purge(new PurgeRequest(null, 4, 0));

        Assert.Equal(3ul, purged.Value);
        Assert.Equal(new ulong[] { 4ul, 5ul, 6ul }, await stream.Sequences());
        Assert.Equal(4ul, (await stream.State()).FirstSequence);
    }

    [Fact]
    public async Task Purge_keeping_the_newest()
    {
        var stream = await CreateMixAsync();

        var purged = await stream.Grain.Purge(new PurgeRequest(null, 0, 2));

        Assert.Equal(4ul, purged.Value);
        Assert.Equal(new ulong[] { 5ul, 6ul }, await stream.Sequences());
    }

    [Fact]
    public async Task Purge_with_filter_and_keep_keeps_the_newest_matching()
    {
        var stream = await CreateMixAsync();

        var purged = await stream.Grain.Purge(new PurgeRequest(stream.Subject("a"), 0, 1));

        Assert.Equal(2ul, purged.Value);
        Assert.Equal(["b1", "c1", "b2", "a3"], (await stream.All()).Select(m => m.Text()));
    }

    [Fact]
    public async Task Purge_with_filter_and_sequence()
    {
        var stream = await CreateMixAsync();

        var purged = await stream.Grain.Purge(new PurgeRequest(stream.Subject("a"), 6, 0));

        Assert.Equal(2ul, purged.Value);
        Assert.Equal(["b1", "c1", "b2", "a3"], (await stream.All()).Select(m => m.Text()));
    }

    [Fact]
    public async Task Purge_with_both_sequence_and_keep_is_a_bad_request()
    {
        var stream = await CreateMixAsync();
        var result = await stream.Grain.Purge(new PurgeRequest(null, 3, 1));
        Assert.Equal(10003, result.Error?.ErrCode);
        Assert.Equal(6ul, (await stream.State()).Messages);
    }

    [Fact]
    public async Task Deny_purge_refuses_purges()
    {
        var stream = await CreateMixAsync(NewConfig() with { DenyPurge = true });
        var result = await stream.Grain.Purge(new PurgeRequest(null, 0, 0));
        Assert.Equal(10110, result.Error?.ErrCode);
        Assert.Equal(6ul, (await stream.State()).Messages);
    }

    [Fact]
    public async Task Subject_counts_follow_deletes_and_purges()
    {
        var stream = await CreateMixAsync();
        await stream.Grain.DeleteMessage(2, false);
        await stream.Grain.Purge(new PurgeRequest(stream.Subject("c"), 0, 0));

        var info = await stream.Info(subjectsFilter: ">");

        Assert.Equal(new Dictionary<string, ulong> { [stream.Subject("a")] = 3, [stream.Subject("b")] = 1 }, info.Subjects);
    }
}
