using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// Atomic batches across kill -9 of a real silo: a publisher sends batches of 200 as fast as it can while the silo
/// is killed at a random moment. After each restart every batch in the stream is whole (all 200, in order, contiguous
/// sequences) and every batch whose commit was acknowledged is there.
/// </summary>
public sealed class AtomicBatchCrashTests(ITestOutputHelper output)
{
    private const string Stream = "ATOMIC";
    private const int BatchSize = 200;

    [Fact]
    public async Task Batches_survive_kill_9_whole_or_not_at_all()
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var acked = new HashSet<string>(StringComparer.Ordinal);
        string? dataDirectory = null;
        const int Kills = 2;
        for (int cycle = 0; cycle <= Kills; cycle++)
        {
            var silo = await SiloProcess.StartAsync(dataDirectory: dataDirectory);
            dataDirectory = silo.DataDirectory;
            var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
            try
            {
                await nats.ConnectAsync();
                var js = nats.CreateJetStreamContext();
                if (cycle == 0)
                {
                    var created = await ApiScript.RequestAsync(nats, $"$JS.API.STREAM.CREATE.{Stream}",
                        $"{{\"name\":\"{Stream}\",\"subjects\":[\"atomic.>\"],\"storage\":\"file\",\"allow_atomic\":true}}", null, TimeSpan.FromSeconds(30));
                    Assert.Contains("\"allow_atomic\":true", created);
                }
                else
                {
                    await VerifyAsync(js, acked, cycle);
                }
                if (cycle == Kills)
                    break;

                using var stop = new CancellationTokenSource();
                var publishing = PublishAsync(nats, acked, cycle, stop.Token);
                await Task.Delay(random.Next(800, 2500));
                silo.Kill();
                stop.Cancel();
                await publishing;
            }
            finally
            {
                // Closing a connection whose server was killed may throw (NatsTimeoutException in 2 of ~15 local runs): not what is tested.
                try
                {
                    await nats.DisposeAsync();
                }
                catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
                {
                    output.WriteLine($"closing the connection: {ex.GetType().Name}");
                }
                await silo.DisposeAsync();
            }
        }
    }

    /// <summary>Batches until the silo goes; records each batch whose commit ack came back.</summary>
    private async Task PublishAsync(NatsConnection nats, HashSet<string> acked, int cycle, CancellationToken stop)
    {
        var payload = Encoding.ASCII.GetBytes(new string('p', 512));
        int sent = 0;
        try
        {
            for (int batch = 0; !stop.IsCancellationRequested; batch++)
            {
                var id = $"c{cycle}b{batch}";
                for (int i = 1; i < BatchSize; i++)
                    await nats.PublishAsync($"atomic.{i % 7}", payload, headers: Headers(id, i, commit: false), cancellationToken: stop);
                var reply = await nats.RequestAsync<byte[], byte[]>($"atomic.{BatchSize % 7}", payload, headers: Headers(id, BatchSize, commit: true),
                    replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(5) }, cancellationToken: stop);
                var ack = JsonNode.Parse(reply.Data!)!;
                Assert.True(ack["error"] is null, ack.ToJsonString());
                Assert.Equal(BatchSize, (int)ack["count"]!);
                lock (acked)
                    acked.Add(id);
                sent++;
            }
        }
        // The kill ends the loop however the client notices it (closed connection, timed out or cancelled request);
        // only a wrong ack fails the test.
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
        }
        output.WriteLine($"cycle {cycle}: {sent} batches acknowledged before the kill");
    }

    private static NatsHeaders Headers(string id, int sequence, bool commit)
    {
        var headers = new NatsHeaders { ["Nats-Batch-Id"] = id, ["Nats-Batch-Sequence"] = sequence.ToString() };
        if (commit)
            headers["Nats-Batch-Commit"] = "1";
        return headers;
    }

    private async Task VerifyAsync(INatsJSContext js, HashSet<string> acked, int cycle)
    {
        var stream = await js.GetStreamAsync(Stream);
        var state = stream.Info.State;
        var consumer = await js.CreateOrUpdateConsumerAsync(Stream, new ConsumerConfig($"check{cycle}") { AckPolicy = ConsumerConfigAckPolicy.None });
        var seen = new Dictionary<string, (ulong First, int Count)>(StringComparer.Ordinal);
        long read = 0;
        while (read < state.Messages)
        {
            await foreach (var msg in consumer.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1000, Expires = TimeSpan.FromSeconds(5) }))
            {
                read++;
                var id = msg.Headers!["Nats-Batch-Id"].ToString();
                int sequence = int.Parse(msg.Headers["Nats-Batch-Sequence"].ToString());
                ulong streamSequence = msg.Metadata!.Value.Sequence.Stream;
                seen.TryGetValue(id, out var batch);
                if (sequence == 1)
                    batch = (streamSequence, 0);
                // In order and contiguous: the batch's n-th message has the n-th sequence after its first.
                Assert.Equal(batch.First + (ulong)(sequence - 1), streamSequence);
                Assert.Equal(batch.Count + 1, sequence);
                seen[id] = (batch.First, sequence);
            }
        }
        Assert.Equal(state.Messages, read);
        foreach (var (id, batch) in seen)
            Assert.True(batch.Count == BatchSize, $"batch {id} has {batch.Count} of {BatchSize} messages");
        lock (acked)
        {
            foreach (var id in acked)
                Assert.True(seen.ContainsKey(id), $"acknowledged batch {id} is missing");
            output.WriteLine($"after kill {cycle}: {seen.Count} whole batches stored, {acked.Count} acknowledged");
        }
    }
}
