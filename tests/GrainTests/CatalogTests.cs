using Platform.Grains.Streams;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests;

public sealed class CatalogTests(ClusterFixture fixture) : GrainTestBase(fixture), IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task Create_lists_the_stream_and_reports_it_empty()
    {
        var config = NewConfig() with { Description = "orders", MaxMsgs = 10 };
        var result = await Catalog.Create(config.WithDefaults());

        Assert.Null(result.Error);
        var info = result.Value!;
        Assert.True(config.WithDefaults().SameAs(info.Config));
        Assert.Equal(0ul, info.State.Messages);
        Assert.Equal(0ul, info.State.LastSequence);
        Assert.InRange(info.Created, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddSeconds(1));
        Assert.Contains(await Catalog.List(), c => c.Name == config.Name && c.MaxMsgs == 10);
        Assert.True(File.Exists(Path.Combine(Fixture.StoreDirectory, "jetstream", "streams", config.Name, "meta.json")));
    }

    [Fact]
    public async Task Info_of_an_unknown_stream_is_not_found()
    {
        var result = await Fixture.Grains.GetGrain<IStreamGrain>("NoSuchStream").GetInfo(false, null);
        Assert.Equal(10059, result.Error?.ErrCode);
    }

    [Fact]
    public async Task Update_changes_the_config_and_applies_new_limits_to_stored_messages()
    {
        var config = NewConfig();
        var stream = await CreateAsync(config);
        for (int i = 0; i < 5; i++)
            await stream.Publish("a", $"m{i}");

        var result = await Catalog.Update((config with { MaxMsgs = 2, Description = "trimmed" }).WithDefaults());

        Assert.Null(result.Error);
        Assert.Equal("trimmed", result.Value!.Config.Description);
        Assert.Equal(new ulong[] { 4ul, 5ul }, await stream.Sequences());
        Assert.Contains(await Catalog.List(), c => c.Name == config.Name && c.MaxMsgs == 2);
    }

    [Fact]
    public async Task Update_of_an_unknown_stream_is_not_found()
    {
        var result = await Catalog.Update(NewConfig().WithDefaults());
        Assert.Equal(10059, result.Error?.ErrCode);
    }

    [Fact]
    public async Task Update_cannot_change_the_storage_type()
    {
        var config = NewConfig();
        await CreateAsync(config);
        var result = await Catalog.Update((config with { Storage = StorageType.Memory }).WithDefaults());
        Assert.Equal(10052, result.Error?.ErrCode);
    }

    [Fact]
    public async Task Delete_removes_the_stream_its_files_and_its_name()
    {
        var config = NewConfig();
        var stream = await CreateAsync(config);
        await stream.Publish("a");

        Assert.True(await Catalog.Delete(config.Name));

        Assert.DoesNotContain(await Catalog.List(), c => c.Name == config.Name);
        Assert.Equal(10059, (await stream.Grain.GetInfo(false, null)).Error?.ErrCode);
        Assert.Equal(10059, (await stream.Publish("a")).Error?.ErrCode);
        Assert.False(Directory.Exists(Path.Combine(Fixture.StoreDirectory, "jetstream", "streams", config.Name)));
        Assert.False(await Catalog.Delete(config.Name));
    }

    [Fact]
    public async Task A_deleted_stream_can_be_created_again_and_starts_from_sequence_one()
    {
        var config = NewConfig();
        var stream = await CreateAsync(config);
        await stream.Publish("a");
        await stream.Publish("a");
        Assert.True(await Catalog.Delete(config.Name));

        var again = await CreateAsync(config with { MaxMsgs = 7 });

        Assert.Equal(0ul, (await again.State()).Messages);
        Assert.Equal(1ul, (await again.Publish("a")).Sequence);
    }

    [Fact]
    public async Task Overlapping_subjects_are_refused_on_create_and_update()
    {
        var first = NewConfig();
        await CreateAsync(first with { Subjects = [$"{first.Name}.*"] });
        var second = NewConfig();
        await CreateAsync(second);

        var create = await Catalog.Create((NewConfig() with { Subjects = [$"{first.Name}.x"] }).WithDefaults());
        var update = await Catalog.Update((second with { Subjects = [$"{second.Name}.>", $"{first.Name}.>"] }).WithDefaults());

        Assert.Equal(10065, create.Error?.ErrCode);
        Assert.Equal(10065, update.Error?.ErrCode);
        Assert.Equal([$"{second.Name}.>"], (await Catalog.List()).Single(c => c.Name == second.Name).Subjects);
    }

    [Fact]
    public async Task Creating_again_with_the_same_config_succeeds_and_keeps_the_messages()
    {
        var config = NewConfig() with { MaxMsgs = 100 };
        var stream = await CreateAsync(config);
        await stream.Publish("a");

        var again = await Catalog.Create(config.WithDefaults());

        Assert.Null(again.Error);
        Assert.Equal(1ul, again.Value!.State.Messages);
    }

    [Fact]
    public async Task Creating_again_with_a_different_config_is_refused()
    {
        var config = NewConfig();
        await CreateAsync(config);

        var again = await Catalog.Create((config with { MaxMsgs = 5 }).WithDefaults());

        Assert.Equal(10058, again.Error?.ErrCode);
        Assert.Equal(-1, (await Catalog.List()).Single(c => c.Name == config.Name).MaxMsgs);
    }

    [Fact]
    public async Task More_than_one_replica_is_refused()
    {
        var config = NewConfig() with { NumReplicas = 3 };
        var result = await Catalog.Create(config.WithDefaults());
        Assert.Equal(10074, result.Error?.ErrCode);
        Assert.DoesNotContain(await Catalog.List(), c => c.Name == config.Name);
    }

    [Fact]
    public async Task A_stream_cannot_be_created_sealed()
    {
        var config = NewConfig() with { Sealed = true };
        var result = await Catalog.Create(config.WithDefaults());
        Assert.Equal(10052, result.Error?.ErrCode);
        Assert.DoesNotContain(await Catalog.List(), c => c.Name == config.Name);
        Assert.Equal(10059, (await Fixture.Grains.GetGrain<IStreamGrain>(config.Name).GetInfo(false, null)).Error?.ErrCode);
    }

    [Fact]
    public async Task Invalid_subjects_are_refused_and_every_retention_is_accepted()
    {
        var badSubject = await Catalog.Create((NewConfig() with { Subjects = ["a..b"] }).WithDefaults());
        var interest = await Catalog.Create((NewConfig() with { Retention = RetentionPolicy.Interest }).WithDefaults());
        var workQueue = await Catalog.Create((NewConfig() with { Retention = RetentionPolicy.WorkQueue }).WithDefaults());
        Assert.Equal(10052, badSubject.Error?.ErrCode);
        Assert.Null(interest.Error);
        Assert.Null(workQueue.Error);
    }

    [Fact]
    public async Task A_sealed_stream_refuses_writes_deletes_purges_and_unsealing()
    {
        var config = NewConfig();
        var stream = await CreateAsync(config);
        await stream.Publish("a");

        var sealedResult = await Catalog.Update((config with { Sealed = true }).WithDefaults());
        Assert.Null(sealedResult.Error);

        Assert.Equal(10109, (await stream.Publish("a")).Error?.ErrCode);
        Assert.Equal(10109, (await stream.Grain.DeleteMessage(1, false)).Error?.ErrCode);
        Assert.Equal(10109, (await stream.Grain.Purge(new PurgeRequest(null, 0, 0))).Error?.ErrCode);
        Assert.Equal(10052, (await Catalog.Update(config.WithDefaults())).Error?.ErrCode);
        Assert.Equal("data", (await stream.Get(1)).Text());
    }

    [Fact]
    public async Task First_seq_sets_the_first_sequence_assigned()
    {
        var stream = await CreateAsync(NewConfig() with { FirstSeq = 1000 });
        Assert.Equal(1000ul, (await stream.Publish("a")).Sequence);
        Assert.Equal(1001ul, (await stream.Publish("a")).Sequence);
        Assert.Equal(1000ul, (await stream.State()).FirstSequence);
    }
}
