using System.Text;
using Platform.Grains.Storage;
using Platform.Grains.Streams;

namespace Platform.GrainTests.Infrastructure;

/// <summary>Helpers over the grain interfaces that every test class uses.</summary>
public abstract class GrainTestBase(ClusterFixture fixture)
{
    private static int _next;

    protected ClusterFixture Fixture { get; } = fixture;

    protected IStreamCatalogGrain Catalog => Fixture.Grains.GetGrain<IStreamCatalogGrain>(0);

    /// <summary>Streams of all tests in a class share one catalog, so each gets its own name and subjects.</summary>
    protected static PlatformStreamConfig NewConfig(string prefix = "S")
    {
        var name = $"{prefix}{Interlocked.Increment(ref _next)}";
        return new PlatformStreamConfig { Name = name, Subjects = [$"{name}.>"] };
    }

    /// <summary>Creates through the catalog with nats-server's defaults filled in, as the $JS.API does.</summary>
    protected async Task<TestStream> CreateAsync(PlatformStreamConfig config)
    {
        var result = await Catalog.Create(config.WithDefaults());
        Assert.Null(result.Error);
        return new TestStream(config.Name, Fixture.Grains.GetGrain<IStreamGrain>(config.Name));
    }

    protected Task<TestStream> CreateAsync() => CreateAsync(NewConfig());
}

/// <summary>A created stream: its name, its grain, and publishing on subjects under <c>name.</c>.</summary>
public sealed record TestStream(string Name, IStreamGrain Grain)
{
    public string Subject(string token) => $"{Name}.{token}";

    public async Task<PublishAck> Publish(string token, string payload = "data", params (string Name, string Value)[] headers)
        => (await new FrameBatch().Add(Subject(token), payload, headers).AppendTo(Grain)).Single();

    public async Task<PlatformStreamInfo> Info(bool deletedDetails = false, string? subjectsFilter = null)
    {
        var result = await Grain.GetInfo(deletedDetails, subjectsFilter);
        Assert.Null(result.Error);
        return result.Value!;
    }

    public async Task<LogState> State() => (await Info()).State;

    public async Task<StoredMessage> Get(ulong sequence)
    {
        var result = await Grain.GetMessage(new MessageQuery(sequence, null, null));
        Assert.Null(result.Error);
        return result.Value!;
    }

    /// <summary>The live messages in order, read one by one through MSG.GET's next_by_subj.</summary>
    public async Task<List<StoredMessage>> All()
    {
        var messages = new List<StoredMessage>();
        ulong from = 1;
        while (true)
        {
            var next = await Grain.GetMessage(new MessageQuery(from, null, ">"));
            if (next.Error is not null)
                return messages;
            messages.Add(next.Value!);
            from = next.Value!.Sequence + 1;
        }
    }

    public async Task<ulong[]> Sequences() => [.. (await All()).Select(m => m.Sequence)];
}

internal static class StoredMessageExtensions
{
    public static string Text(this StoredMessage message) => Encoding.UTF8.GetString(message.Payload);
}
