using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Platform.IntegrationTests.Configuration;

/// <summary>
/// memory_budget: the silo's heap limit, with the stream logs' memtables sized to a quarter of it. A silo given the
/// smallest budget stores more than the budget's worth of messages without an allocation failing: with the limit and
/// memtables of 75k-125k records each, the same load failed within a second (perf/README.md, footprint).
/// </summary>
public sealed class MemoryBudgetTests(ITestOutputHelper output)
{
    private const int Messages = 200_000;
    private const int PayloadBytes = 1024;
    private const int Window = 250;

    [Fact]
    public async Task A_silo_stores_more_than_its_memory_budget_within_it()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: true, extraArgs: ["--memory_budget", "128MB"]);
        // Read back from the GC, so the line shows the limit took effect in the running process.
        await silo.AssertOutputContainsAsync("Memory budget 128 MB: the GC's heap limit is 128 MB");

        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();
        await js.CreateStreamAsync(new StreamConfig("BUDGET", ["budget.>"]));
        var payload = new byte[PayloadBytes];
        var acks = new Task<PubAckResponse>[Window];
        for (int sent = 0; sent < Messages; sent += Window)
        {
            for (int i = 0; i < Window; i++)
                acks[i] = js.PublishAsync($"budget.{(sent + i) % 16}", payload).AsTask();
            foreach (var ack in await Task.WhenAll(acks))
                Assert.Null(ack.Error);
        }

        var state = (await js.GetStreamAsync("BUDGET")).Info.State;
        Assert.Equal(((long)Messages, (ulong)Messages), (state.Messages, state.LastSeq));
        var consumer = await js.CreateOrUpdateConsumerAsync("BUDGET", new ConsumerConfig { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence, OptStartSeq = Messages - 10 });
        int read = 0;
        await foreach (var msg in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 20 }))
        {
            Assert.Equal(PayloadBytes, msg.Data!.Length);
            read++;
        }
        Assert.Equal(11, read);

        output.WriteLine($"{Messages} messages of {PayloadBytes} B stored, silo RSS {ProcessMemory.ResidentBytes(silo.ProcessId) >> 20} MB");
        Assert.DoesNotContain("OutOfMemory", silo.Output);
    }
}
