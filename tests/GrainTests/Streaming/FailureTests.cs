using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;
using Platform.Grains.Client;
using Platform.Grains.Streaming;
using Platform.GrainTests.Infrastructure;

namespace Platform.GrainTests.Streaming;

[Collection(ProviderCollection.Name)]
public sealed class FailureTests
{
    [Fact]
    public async Task A_delivery_that_keeps_failing_is_retried_then_reported_by_the_failure_handler_and_the_stream_goes_on()
    {
        using var store = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        var cluster = await ProviderTests.StartAsync(store.Path, maxDeliveryTime: TimeSpan.FromSeconds(2), logs: logs);
        try
        {
            var grain = cluster.Client.GetGrain<ISubscriberGrain>("failing-1");
            await grain.Subscribe("failing", "k", 0);
            var stream = cluster.Client.GetStreamProvider("platform").GetStream<TestEvent>(StreamId.Create("failing", "k"));
            await stream.OnNextAsync(new TestEvent(0, ""));
            await stream.OnNextAsync(new TestEvent(-1, "poison"));
            await stream.OnNextAsync(new TestEvent(2, ""));

            var deadline = DateTime.UtcNow.AddSeconds(30);
            Received[] got = [];
            while ((got = await grain.GetReceived()).Length < 2 && DateTime.UtcNow < deadline)
                await Task.Delay(50);

            Assert.Equal([(1L, 0), (3L, 2)], got.Select(r => (r.Sequence, r.N)));
            var report = Assert.Single(logs.Errors, e => e.Contains("delivery of", StringComparison.Ordinal));
            Assert.Contains("failing/k", report);
            Assert.Contains("sequence 2", report);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_event_that_cannot_be_read_goes_to_the_failure_handler_and_dead_letters_at_once_and_the_next_event_follows()
    {
        using var store = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        // The pulling agent's default retry time (1 min) stays: a failed delivery would hold the next event that long.
        var cluster = await ProviderTests.StartAsync(store.Path, logs: logs, configure: o => o.DeadLetterStream = "dead");
        try
        {
            var grain = cluster.Client.GetGrain<ISubscriberGrain>("unreadable-1");
            await grain.Subscribe("failing", "k", 0);
            var stream = cluster.Client.GetStreamProvider("platform").GetStream<TestEvent>(StreamId.Create("failing", "k"));
            var streams = new PlatformStreams(cluster.Client);
            await stream.OnNextAsync(new TestEvent(0, ""));
            // What a NATS client could publish on the stream's subject: text that is not JSON, without Orleans-Type.
            await streams.PublishAsync("failing", "failing.k", "not json"u8.ToArray());
            await stream.OnNextAsync(new TestEvent(2, ""));

            var deadline = DateTime.UtcNow.AddSeconds(10);
            Received[] got = [];
            while ((got = await grain.GetReceived()).Length < 2 && DateTime.UtcNow < deadline)
                await Task.Delay(50);

            Assert.Equal([(1L, 0), (3L, 2)], got.Select(r => (r.Sequence, r.N)));
            var report = Assert.Single(logs.Errors, e => e.Contains("cannot be read", StringComparison.Ordinal));
            Assert.Contains("failing/k", report);
            Assert.Contains("sequence 2", report);
            Assert.Contains(typeof(TestEvent).FullName!, report);

            // The dead letter is written in the background: wait for its stream to hold it.
            var written = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < written && !(await streams.ListStreamsAsync()).Any(c => c.Name == "dead"))
                await Task.Delay(50);
            var dead = await ProviderTests.FirstAsync(streams.ConsumeAsync("dead", "reader"));
            Assert.Equal("dead.failing", dead.Subject);
            Assert.Equal("not json", Encoding.UTF8.GetString(dead.Payload.Span));
            Assert.Equal("failing.k", dead.Headers[ProviderFailureHandler.DeadLetterStreamHeader]);
            Assert.Equal("2", dead.Headers[ProviderFailureHandler.DeadLetterSequenceHeader]);
            Assert.Equal(EventCodec.TypeName(typeof(TestEvent)), dead.Headers[ProviderFailureHandler.DeadLetterTypeHeader]);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Errors { get; } = new();

        public ILogger CreateLogger(string categoryName) =>
            categoryName.Contains("ProviderFailureHandler", StringComparison.Ordinal) ? new Logger(Errors) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> errors) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (logLevel >= LogLevel.Error)
                    errors.Enqueue(formatter(state, exception));
            }
        }
    }
}
