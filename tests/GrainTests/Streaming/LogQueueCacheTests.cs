using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Platform.Grains.Streaming;
using Platform.Grains.Streams;

namespace Platform.GrainTests.Streaming;

/// <summary>The cache on its own, without a log open on this silo (the stream grain lives elsewhere).</summary>
public sealed class LogQueueCacheTests
{
    private static readonly StreamId A = StreamId.Create("ns", "a");
    private static readonly StreamId B = StreamId.Create("ns", "b");

    // The concrete cursor: IQueueCacheCursor.MoveNext is marked obsolete in 10.4 in favour of MoveNextWithResult (a
    // default interface member); the provider tests show the pulling agent still reaches this cursor's MoveNext.
    private static LogQueueCache.LogCursor Cursor(LogQueueCache cache, StreamId id) =>
        (LogQueueCache.LogCursor)cache.GetCacheCursor(id, new EventSequenceTokenV2(1));

    private static LogQueueCache NewCache(PlatformStreamOptions options)
    {
        var services = new ServiceCollection().BuildServiceProvider();
        var failures = new ProviderFailureHandler("p", options, services, new ProviderStreams(services, options, new ProviderNamespaces("p", options)), NullLogger<ProviderFailureHandler>.Instance);
        return new LogQueueCache("ns", "ns", new OpenLogs(), options, failures, TimeProvider.System);
    }

    private static LogBatchContainer Batch(StreamId id, ulong seq) => new() { StreamId = id, Sequence = seq, Payload = [] };

    [Fact]
    public void Without_a_local_log_cursors_serve_the_pending_records_of_their_stream_in_order()
    {
        var cache = NewCache(new PlatformStreamOptions());
        var cursor = Cursor(cache, A);
        cache.AddToCache([Batch(A, 1), Batch(B, 2), Batch(A, 3)]);

        var seen = new List<ulong>();
        while (cursor.MoveNext())
            seen.Add(((LogBatchContainer)cursor.GetCurrent(out _)!).Sequence);
        Assert.Equal([1ul, 3ul], seen);

        cache.AddToCache([Batch(A, 4)]);
        Assert.True(cursor.MoveNext());
        Assert.Equal(4ul, ((LogBatchContainer)cursor.GetCurrent(out _)!).Sequence);
    }

    [Fact]
    public void Records_are_purged_in_order_once_every_cursor_of_their_stream_moved_past_them()
    {
        var options = new PlatformStreamOptions { UnclaimedGrace = TimeSpan.FromHours(1) };
        var cache = NewCache(options);
        var a = Cursor(cache, A);
        var b = Cursor(cache, B);
        cache.AddToCache([Batch(A, 1), Batch(B, 2), Batch(A, 3)]);

        Assert.False(cache.TryPurgeFromCache(out _));
        a.MoveNext(); // delivering 1
        Assert.False(cache.TryPurgeFromCache(out _));
        a.MoveNext(); // 1 done, delivering 3
        Assert.True(cache.TryPurgeFromCache(out var purged));
        Assert.Equal([1ul], purged.Cast<LogBatchContainer>().Select(p => p.Sequence));
        b.MoveNext();
        b.MoveNext(); // 2 done; 3 still being delivered
        Assert.True(cache.TryPurgeFromCache(out purged));
        Assert.Equal([2ul], purged.Cast<LogBatchContainer>().Select(p => p.Sequence));
        Assert.False(a.MoveNext()); // 3 done
        Assert.True(cache.TryPurgeFromCache(out purged));
        Assert.Equal([3ul], purged.Cast<LogBatchContainer>().Select(p => p.Sequence));
    }
}
