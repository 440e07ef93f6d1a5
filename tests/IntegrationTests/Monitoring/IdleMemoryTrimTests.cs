using NATS.Client.Core;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Monitoring;

public sealed class IdleMemoryTrimTests
{
    private const int Messages = 300_000;

    [Fact]
    public async Task Memory_a_load_or_a_deleted_stream_held_goes_back_to_the_system_once_the_silo_is_quiet()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: true);
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        var js = nats.CreateJetStreamContext();
        await js.CreateStreamAsync(new StreamConfig("HOLD", ["hold.>"]));
        long idle = ProcessMemory.ResidentBytes(silo.ProcessId);

        var payload = new byte[128];
        for (int i = 0; i < Messages; i++)
            await nats.PublishAsync("hold.x", payload);
        await nats.PingAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((await js.GetStreamAsync("HOLD")).Info.State.Messages < Messages && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        long loaded = ProcessMemory.ResidentBytes(silo.ProcessId);

        var output = await silo.OutputContainingAsync("Quiet after load", TimeSpan.FromSeconds(40));
        Assert.Contains("Quiet after load", output);
        long trimmed = ProcessMemory.ResidentBytes(silo.ProcessId);
        // What the load added, and at least a quarter of it given back (measured: 311 -> 242 MB after 1M messages).
        Assert.True(loaded - idle > 0, $"the load added nothing: idle {idle >> 20} MB, loaded {loaded >> 20} MB");
        Assert.True(trimmed < loaded - (loaded - idle) / 4,
            $"idle {idle >> 20} MB, after {Messages} messages {loaded >> 20} MB, quiet {trimmed >> 20} MB");
        Assert.Equal(Messages, (long)(await js.GetStreamAsync("HOLD")).Info.State.Messages);

        // Deleting the stream makes its memtable and subject index garbage without the working set growing: the next
        // quiet tick collects because a log closed (measured after 1M messages: 185 -> 134 MB; 193 MB without it).
        long held = ProcessMemory.ResidentBytes(silo.ProcessId);
        await js.DeleteStreamAsync("HOLD");
        output = await silo.OutputContainingAsync("Quiet after closing stream logs", TimeSpan.FromSeconds(30));
        Assert.Contains("Quiet after closing stream logs", output);
        long deleted = ProcessMemory.ResidentBytes(silo.ProcessId);
        // Measured after 300k: 188 -> 145 MB, idle 118.
        Assert.True(deleted < held - (held - idle) / 4, $"idle {idle >> 20} MB, holding the stream {held >> 20} MB, after deleting it {deleted >> 20} MB");
    }
}
