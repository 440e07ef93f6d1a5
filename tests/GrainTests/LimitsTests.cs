using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests;

public sealed class LimitsTests(ClusterFixture fixture) : GrainTestBase(fixture), IClassFixture<ClusterFixture>
{
    /// <summary>nats-server's stored size of a message without headers: what max_bytes counts.</summary>
    private static long StoredSize(string subject, int payload) => 22 + subject.Length + payload + 8;

    [Fact]
    public async Task Max_msgs_with_discard_old_drops_the_oldest()
    {
        var stream = await CreateAsync(NewConfig() with { MaxMsgs = 5 });
        for (int i = 1; i <= 8; i++)
            Assert.Equal((ulong)i, (await stream.Publish("a", $"m{i}")).Sequence);

        Assert.Equal(new ulong[] { 4ul, 5ul, 6ul, 7ul, 8ul }, await stream.Sequences());
        var state = await stream.State();
        Assert.Equal((4ul, 8ul, 5ul), (state.FirstSequence, state.LastSequence, state.Messages));
    }

    [Fact]
    public async Task Max_msgs_with_discard_new_refuses_the_newest()
    {
        var stream = await CreateAsync(NewConfig() with { MaxMsgs = 3, Discard = DiscardPolicy.New });
        for (int i = 0; i < 3; i++)
            await stream.Publish("a");

        var refused = await stream.Publish("a");

        Assert.Equal(10077, refused.Error?.ErrCode);
        Assert.Equal("maximum messages exceeded", refused.Error?.Description);
        Assert.Equal(new ulong[] { 1ul, 2ul, 3ul }, await stream.Sequences());
    }

    [Fact]
    public async Task Max_bytes_with_discard_old_drops_the_oldest_until_the_rest_fits()
    {
        var config = NewConfig();
        long size = StoredSize($"{config.Name}.a", 100);
        var stream = await CreateAsync(config with { MaxBytes = size * 3 + size / 2 });
        for (int i = 0; i < 6; i++)
            await stream.Publish("a", new string('x', 100));

        var state = await stream.State();
        Assert.Equal((3ul, (ulong)(size * 3)), (state.Messages, state.Bytes));
        Assert.Equal(new ulong[] { 4ul, 5ul, 6ul }, await stream.Sequences());
    }

    [Fact]
    public async Task Max_bytes_with_discard_new_refuses_what_would_not_fit()
    {
        var config = NewConfig();
        long size = StoredSize($"{config.Name}.a", 100);
        var stream = await CreateAsync(config with { MaxBytes = size * 2, Discard = DiscardPolicy.New });
        await stream.Publish("a", new string('x', 100));
        await stream.Publish("a", new string('x', 100));

        var refused = await stream.Publish("a", "x");

        Assert.Equal(10077, refused.Error?.ErrCode);
        Assert.Equal("maximum bytes exceeded", refused.Error?.Description);
        Assert.Equal(2ul, (await stream.State()).Messages);
    }

    [Fact]
    public async Task Max_msgs_per_subject_keeps_the_newest_of_each_subject()
    {
        var stream = await CreateAsync(NewConfig() with { MaxMsgsPerSubject = 2 });
        await stream.Publish("a", "a1");
        await stream.Publish("b", "b1");
        await stream.Publish("a", "a2");
        await stream.Publish("a", "a3");
        await stream.Publish("b", "b2");
        await stream.Publish("b", "b3");

        Assert.Equal(["a2", "a3", "b2", "b3"], (await stream.All()).Select(m => m.Text()));
    }

    [Fact]
    public async Task Max_msgs_per_subject_with_discard_new_still_drops_old_without_discard_new_per_subject()
    {
        var stream = await CreateAsync(NewConfig() with { MaxMsgsPerSubject = 1, Discard = DiscardPolicy.New });
        await stream.Publish("a", "a1");

        var second = await stream.Publish("a", "a2");

        Assert.Null(second.Error);
        Assert.Equal(["a2"], (await stream.All()).Select(m => m.Text()));
    }

    [Fact]
    public async Task Discard_new_per_subject_refuses_a_subject_at_its_limit()
    {
        var stream = await CreateAsync(NewConfig() with
        {
            MaxMsgsPerSubject = 2, Discard = DiscardPolicy.New, DiscardNewPerSubject = true, MaxMsgs = 100,
        });
        await stream.Publish("a", "a1");
        await stream.Publish("a", "a2");

        var refused = await stream.Publish("a", "a3");
        var otherSubject = await stream.Publish("b", "b1");

        Assert.Equal(10077, refused.Error?.ErrCode);
        Assert.Equal("maximum messages per subject exceeded", refused.Error?.Description);
        Assert.Null(otherSubject.Error);
        Assert.Equal(["a1", "a2", "b1"], (await stream.All()).Select(m => m.Text()));
    }

    [Fact]
    public async Task Discard_new_per_subject_lets_a_rollup_through()
    {
        var stream = await CreateAsync(NewConfig() with
        {
            MaxMsgsPerSubject = 1, Discard = DiscardPolicy.New, DiscardNewPerSubject = true, MaxMsgs = 100, AllowRollupHeaders = true,
        });
        await stream.Publish("a", "a1");

        var rollup = await stream.Publish("a", "a2", ("Nats-Rollup", "sub"));

        Assert.Null(rollup.Error);
        Assert.Equal(["a2"], (await stream.All()).Select(m => m.Text()));
    }

    [Fact]
    public async Task Max_age_expires_messages()
    {
        var stream = await CreateAsync(NewConfig() with { MaxAge = 300_000_000 });
        await stream.Publish("a", "old");
        await stream.Publish("a", "old");

        var state = await stream.State();
        Assert.Equal(2ul, state.Messages);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (state.Messages > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            state = await stream.State();
        }

        Assert.Equal(0ul, state.Messages);
        Assert.Equal((3ul, 2ul), (state.FirstSequence, state.LastSequence));
        Assert.Equal(3ul, (await stream.Publish("a", "new")).Sequence);
    }

    [Fact]
    public async Task Max_age_keeps_messages_younger_than_the_limit()
    {
        var stream = await CreateAsync(NewConfig() with { MaxAge = 2_000_000_000 });
        await stream.Publish("a", "old");
        await Task.Delay(1200);
        await stream.Publish("a", "young");

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await stream.State()).Messages > 1 && DateTime.UtcNow < deadline)
            await Task.Delay(50);

        Assert.Equal(["young"], (await stream.All()).Select(m => m.Text()));
    }

    [Fact]
    public async Task Memory_storage_keeps_messages_and_limits_but_writes_no_metadata()
    {
        var config = NewConfig() with { Storage = StorageType.Memory, MaxMsgs = 3 };
        var stream = await CreateAsync(config);
        for (int i = 1; i <= 5; i++)
            await stream.Publish(i % 2 == 0 ? "even" : "odd", $"m{i}");

        Assert.Equal(["m3", "m4", "m5"], (await stream.All()).Select(m => m.Text()));
        Assert.Equal("m5", (await stream.Grain.GetMessage(new MessageQuery(0, $"{config.Name}.odd", null))).Value?.Text());
        Assert.Equal(StorageType.Memory, (await stream.Info()).Config.Storage);
        Assert.False(File.Exists(Path.Combine(Fixture.StoreDirectory, "jetstream", "streams", config.Name, "meta.json")));
        Assert.Contains(await Catalog.List(), c => c.Name == config.Name);
    }
}
