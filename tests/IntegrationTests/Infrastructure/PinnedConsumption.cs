using System.Diagnostics;
using NATS.Client.JetStream;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>
/// A NATS.Net consume loop in the priority group "jobs" of a pinned_client consumer, running until stopped: it acks
/// each message and keeps it with the Nats-Pin-Id it carried. Its pull requests expire every second, so they renew a
/// pin well within any timeout the tests give.
/// </summary>
internal sealed class PinnedConsumption<T> : IAsyncDisposable
{
    private static readonly NatsJSConsumeOpts Opts = new()
    {
        MaxMsgs = 10,
        Expires = TimeSpan.FromSeconds(1),
        IdleHeartbeat = TimeSpan.FromMilliseconds(500),
        PriorityGroup = new NatsJSPriorityGroupOpts { Group = "jobs" },
    };

    private readonly List<(T Data, string Pin)> _got = [];
    private readonly CancellationTokenSource _stop;
    private readonly Task _loop;

    /// <param name="lifetime">How long it runs at most, should a test fail before stopping it.</param>
    public PinnedConsumption(INatsJSConsumer consumer, TimeSpan lifetime)
    {
        _stop = new CancellationTokenSource(lifetime);
        _loop = ConsumeAsync(consumer);
    }

    private async Task ConsumeAsync(INatsJSConsumer consumer)
    {
        try
        {
            await foreach (var msg in consumer.ConsumeAsync<T>(opts: Opts, cancellationToken: _stop.Token))
            {
                lock (_got)
                    _got.Add((msg.Data!, msg.Headers?["Nats-Pin-Id"].ToString() ?? ""));
                await msg.AckAsync(cancellationToken: _stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>What it received once it has <paramref name="count"/> messages, or after <paramref name="seconds"/> with fewer.</summary>
    public async Task<List<(T Data, string Pin)>> WaitForAsync(int count, double seconds)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            lock (_got)
                if (_got.Count >= count)
                    return [.. _got];
            await Task.Delay(50);
        }
        lock (_got)
            return [.. _got];
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
