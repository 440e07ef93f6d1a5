using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// kill -9 of a real silo under load, again and again: publishers waiting for their acks and a durable pull consumer
/// acking every message with AckSync while the silo dies at a random moment. After every restart nothing acked is
/// missing, sequences have no holes, and the consumer's ack floor is not below what its AckSyncs were answered for;
/// no stored payload changes and no message answered by an AckSync is delivered again by a later process. At the end
/// every stored message has reached the consumer (nothing skipped). CI runs 3 cycles; CHAOS_CYCLES=N (scripts/chaos)
/// runs more, CHAOS_SEED=S repeats a run's kill timings.
/// </summary>
public sealed class KillLoopTests(ITestOutputHelper output)
{
    private const string Stream = "CHAOS";
    private const string Consumer = "worker";
    private const int Publishers = 3;
    private static readonly TimeSpan AckWait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Nothing_acknowledged_is_lost_across_kill_9_under_load()
    {
        int cycles = int.TryParse(Environment.GetEnvironmentVariable("CHAOS_CYCLES"), out var n) && n > 0 ? n : 3;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("CHAOS_SEED"), out var s) ? s : Environment.TickCount;
        output.WriteLine($"{cycles} kills, CHAOS_SEED={seed}");
        var random = new Random(seed);
        var state = new ChaosLedger();
        string? dataDirectory = null;
        for (int cycle = 0; cycle <= cycles; cycle++)
        {
            var silo = await SiloProcess.StartAsync(dataDirectory: dataDirectory);
            dataDirectory = silo.DataDirectory;
            try
            {
                await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
                var js = nats.CreateJetStreamContext();
                if (cycle == 0)
                {
                    await js.CreateStreamAsync(new StreamConfig(Stream, ["chaos.>"]));
                    await js.CreateOrUpdateConsumerAsync(Stream, new ConsumerConfig(Consumer)
                    {
                        AckPolicy = ConsumerConfigAckPolicy.Explicit,
                        AckWait = AckWait,
                        MaxAckPending = 1000,
                    });
                }
                else
                {
                    await VerifyRestartAsync(js, state, cycle);
                }
                if (cycle == cycles)
                {
                    await VerifyEverythingAsync(js, state, cycle);
                    break;
                }
                var killAfter = TimeSpan.FromMilliseconds(random.Next(700, 2000));
                var (published, confirmed) = await RunUntilKilledAsync(silo, state, cycle, killAfter);
                output.WriteLine($"cycle {cycle}: killed after {killAfter.TotalMilliseconds:F0} ms, {published} publishes acked, {confirmed} AckSyncs answered");
                Assert.True(published > 0 && confirmed > 0, $"cycle {cycle} ran no load: {published} publishes, {confirmed} acks");
            }
            finally
            {
                await silo.DisposeAsync();
            }
        }
    }

    private static async Task<(long Published, long Confirmed)> RunUntilKilledAsync(SiloProcess silo, ChaosLedger state, int cycle, TimeSpan killAfter)
    {
        using var stop = new CancellationTokenSource();
        await using var publishing = new NatsConnection(new NatsOpts { Url = silo.Url });
        await using var consuming = new NatsConnection(new NatsOpts { Url = silo.Url });
        long published = 0, confirmed = 0;
        var load = new List<Task>();
        for (int p = 0; p < Publishers; p++)
        {
            int publisher = p;
            load.Add(Task.Run(async () =>
            {
                var js = publishing.CreateJetStreamContext();
                for (int i = 0; !stop.IsCancellationRequested; i++)
                {
                    var payload = Payload(cycle, publisher, i);
                    PubAckResponse ack;
                    try
                    {
                        ack = await js.PublishAsync($"chaos.{publisher}", payload, cancellationToken: stop.Token);
                    }
                    catch (Exception)
                    {
                        return; // the silo is gone: this publish was never acked
                    }
                    if (ack.Error is not null)
                        return;
                    state.Published(ack.Seq, payload);
                    Interlocked.Increment(ref published);
                }
            }));
        }
        load.Add(Task.Run(async () =>
        {
            try
            {
                var consumer = await consuming.CreateJetStreamContext().GetConsumerAsync(Stream, Consumer, stop.Token);
                while (!stop.IsCancellationRequested)
                {
                    await foreach (var msg in consumer.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 50, Expires = TimeSpan.FromSeconds(1) }, cancellationToken: stop.Token))
                    {
                        ulong seq = msg.Metadata!.Value.Sequence.Stream;
                        state.Delivered(seq, msg.Data ?? [], cycle);
                        await msg.AckAsync(new AckOpts { DoubleAck = true }, stop.Token);
                        state.Confirmed(seq, cycle);
                        Interlocked.Increment(ref confirmed);
                    }
                }
            }
            catch (Exception)
            {
                // the silo is gone: the ack in flight was not answered
            }
        }));
        await Task.Delay(killAfter);
        silo.Kill();
        stop.Cancel();
        await Task.WhenAll(load).WaitAsync(TimeSpan.FromSeconds(30));
        return (published, confirmed);
    }

    /// <summary>What must hold right after every restart, before any new load.</summary>
    private static async Task VerifyRestartAsync(INatsJSContext js, ChaosLedger state, int cycle)
    {
        var stream = (await js.GetStreamAsync(Stream)).Info.State;
        Assert.Equal(1ul, stream.FirstSeq);
        Assert.True(stream.LastSeq >= state.LastPublished, $"restart {cycle}: last sequence {stream.LastSeq}, but {state.LastPublished} was acked");
        Assert.True((ulong)stream.Messages == stream.LastSeq, $"restart {cycle}: {stream.Messages} messages in 1..{stream.LastSeq}");
        Assert.True(state.Violations.Count == 0, string.Join("\n", state.Violations.Take(20)));
        var consumer = (await js.GetConsumerAsync(Stream, Consumer)).Info;
        ulong floor = state.ConfirmedFloor();
        Assert.True(consumer.AckFloor.StreamSeq >= floor,
            $"restart {cycle}: ack floor {consumer.AckFloor.StreamSeq}, but AckSyncs were answered for 1..{floor}");
    }

    /// <summary>Every stored message is the one acked for its sequence, and the consumer eventually gets all of them.</summary>
    private static async Task VerifyEverythingAsync(INatsJSContext js, ChaosLedger state, int cycle)
    {
        ulong last = (await js.GetStreamAsync(Stream)).Info.State.LastSeq;
        var reader = await js.CreateOrUpdateConsumerAsync(Stream, new ConsumerConfig { AckPolicy = ConsumerConfigAckPolicy.None });
        ulong expected = 1;
        while (expected <= last)
        {
            int before = (int)expected;
            await foreach (var msg in reader.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1000, Expires = TimeSpan.FromSeconds(2) }))
            {
                ulong seq = msg.Metadata!.Value.Sequence.Stream;
                Assert.Equal(expected, seq);
                state.CheckStored(seq, msg.Data ?? []);
                expected++;
            }
            Assert.True((int)expected > before, $"reading the stream stalled at {expected} of {last}");
        }

        var durable = await js.GetConsumerAsync(Stream, Consumer);
        // The backlog the publishers left (they outpace the consumer) goes as fast as it can; messages pending when
        // the silo died come back once their ack wait, counted from their delivery, is over.
        var lastProgress = DateTime.UtcNow;
        while (DateTime.UtcNow - lastProgress < AckWait + TimeSpan.FromSeconds(10))
        {
            await foreach (var msg in durable.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 500, Expires = TimeSpan.FromSeconds(1) }))
            {
                ulong seq = msg.Metadata!.Value.Sequence.Stream;
                state.Delivered(seq, msg.Data ?? [], cycle);
                await msg.AckAsync(new AckOpts { DoubleAck = true });
                state.Confirmed(seq, cycle);
                lastProgress = DateTime.UtcNow;
            }
            var info = (await js.GetConsumerAsync(Stream, Consumer)).Info;
            if (info.NumPending == 0 && info.NumAckPending == 0)
                break;
        }
        Assert.True(state.Violations.Count == 0, string.Join("\n", state.Violations.Take(20)));
        var final = (await js.GetConsumerAsync(Stream, Consumer)).Info;
        Assert.Equal(last, final.AckFloor.StreamSeq);
        var never = state.NeverDelivered(last);
        Assert.True(never.Count == 0, $"never delivered to the consumer: {string.Join(", ", never.Take(20))}");
    }

    private static byte[] Payload(int cycle, int publisher, int index)
    {
        var text = $"cycle {cycle} publisher {publisher} message {index} ";
        return Encoding.ASCII.GetBytes(text.PadRight(120, (char)('a' + index % 26)));
    }

    /// <summary>What the clients were told, and what they saw: the test's view of the truth.</summary>
    private sealed class ChaosLedger
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<ulong, byte[]> _published = [];
        private readonly Dictionary<ulong, int> _confirmedIn = [];
        private readonly HashSet<ulong> _delivered = [];
        private ulong _confirmedFloor;

        public List<string> Violations { get; } = [];
        public ulong LastPublished { get; private set; }

        public void Published(ulong seq, byte[] payload)
        {
            lock (_lock)
            {
                if (_published.TryGetValue(seq, out var earlier) && !earlier.AsSpan().SequenceEqual(payload))
                    Violations.Add($"sequence {seq} acked for two different messages");
                _published[seq] = payload;
                LastPublished = Math.Max(LastPublished, seq);
            }
        }

        public void Delivered(ulong seq, byte[] payload, int cycle)
        {
            lock (_lock)
            {
                _delivered.Add(seq);
                if (_published.TryGetValue(seq, out var acked) && !acked.AsSpan().SequenceEqual(payload))
                    Violations.Add($"sequence {seq} delivered with a payload other than the one acked");
                // Within one process an expired ack wait may redeliver; across a kill only an unanswered ack may.
                if (_confirmedIn.TryGetValue(seq, out var confirmedCycle) && confirmedCycle < cycle)
                    Violations.Add($"sequence {seq} redelivered after restart {cycle}, its AckSync was answered before kill {confirmedCycle}");
            }
        }

        public void Confirmed(ulong seq, int cycle)
        {
            lock (_lock)
                _confirmedIn.TryAdd(seq, cycle);
        }

        public void CheckStored(ulong seq, byte[] payload)
        {
            lock (_lock)
            {
                if (_published.TryGetValue(seq, out var acked) && !acked.AsSpan().SequenceEqual(payload))
                    Violations.Add($"sequence {seq} stored with a payload other than the one acked");
            }
        }

        /// <summary>The highest k such that an AckSync was answered for every sequence in 1..k.</summary>
        public ulong ConfirmedFloor()
        {
            lock (_lock)
            {
                while (_confirmedIn.ContainsKey(_confirmedFloor + 1))
                    _confirmedFloor++;
                return _confirmedFloor;
            }
        }

        public List<ulong> NeverDelivered(ulong last)
        {
            lock (_lock)
            {
                var missing = new List<ulong>();
                for (ulong seq = 1; seq <= last; seq++)
                {
                    if (!_delivered.Contains(seq))
                        missing.Add(seq);
                }
                return missing;
            }
        }
    }
}
