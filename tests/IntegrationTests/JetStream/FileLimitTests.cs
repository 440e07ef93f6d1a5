using System.Diagnostics;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// A silo under a low file descriptor limit (ulimit -n): it holds only a bounded number of stream logs open, refuses
/// what it has no room for with a JetStream API error instead of dying, and restarts with every stream and message.
/// </summary>
public sealed class FileLimitTests(ITestOutputHelper output)
{
    // At 512 descriptors the silo itself takes ~240; a file stream's log holds 3, so keeping every log open ran out
    // after ~90 streams (the process crashed, or its API stopped answering).
    private const int FileLimit = 512;
    private const int FileStreams = 120;

    [Fact]
    public async Task Streams_past_the_descriptor_limit_are_served_refused_with_an_error_and_back_after_a_kill()
    {
        var clock = Stopwatch.StartNew();
        var silo = await SiloProcess.StartWithFileLimitAsync(FileLimit);
        var dataDirectory = silo.DataDirectory;
        try
        {
            await using (var nats = new NatsConnection(new NatsOpts { Url = silo.Url, RequestTimeout = TimeSpan.FromSeconds(20) }))
            {
                var js = nats.CreateJetStreamContext();
                for (int i = 0; i < FileStreams; i++)
                {
                    await js.CreateStreamAsync(new StreamConfig($"F{i}", [$"f.{i}"]));
                    (await js.PublishAsync($"f.{i}", $"file-{i}")).EnsureSuccess();
                }
                Assert.InRange(OpenDescriptors(silo), 0, FileLimit - 64);
                output.WriteLine($"{FileStreams} file streams after {clock.Elapsed}, {OpenDescriptors(silo)} descriptors open");

                // Memory streams cannot close their logs (that is where their messages are): they fill the share of the
                // budget they may take, and the next one is refused as nats-server refuses a store it cannot create.
                var refused = await CreateStreamsUntilRefusedAsync(js, StreamConfigStorage.Memory, max: FileLimit);
                Assert.Equal(500, refused.Error.Code);
                Assert.Equal(10049, refused.Error.ErrCode);
                Assert.Equal("error creating store for stream", refused.Error.Description);
                if (NatsServerProcess.ExecutablePath is not null)
                {
                    // nats-server gives the same answer once it has run out of descriptors for a new stream's files.
                    await using var reference = await NatsServerProcess.StartWithFileLimitAsync(64);
                    await using var referenceNats = new NatsConnection(new NatsOpts { Url = reference.Url });
                    var expected = await CreateStreamsUntilRefusedAsync(referenceNats.CreateJetStreamContext(), StreamConfigStorage.File, max: 64);
                    Assert.Equal((expected.Error.Code, expected.Error.ErrCode, expected.Error.Description),
                        (refused.Error.Code, refused.Error.ErrCode, refused.Error.Description));
                }
                Assert.False(silo.HasExited);
                output.WriteLine($"memory streams refused after {clock.Elapsed}: {refused.Error.Description}");

                // Everything that exists is still served: file streams whose logs were closed long ago reopen.
                (await js.PublishAsync("f.0", "file-0 again")).EnsureSuccess();
                (await js.PublishAsync("m.0", "memory again")).EnsureSuccess();
                var consumer = await js.CreateOrUpdateConsumerAsync("F1", new ConsumerConfig("reader") { AckPolicy = ConsumerConfigAckPolicy.Explicit });
                Assert.Equal(1, await JetStreamSteps.FetchAndAckAsync(consumer, 1));
                await using var other = new NatsConnection(new NatsOpts { Url = silo.Url });
                await other.PingAsync();
                Assert.InRange(OpenDescriptors(silo), 0, FileLimit - 64);
            }

            // A SIGKILL leaves the logs that were open without the state they save on close: the restart must scan
            // those, and only those, within the same limit.
            silo.Kill();
            await silo.DisposeAsync();
            var restart = Stopwatch.StartNew();
            silo = await SiloProcess.StartWithFileLimitAsync(FileLimit, dataDirectory);
            var ready = restart.Elapsed;
            output.WriteLine($"restarted in {ready}");
            await using (var nats = new NatsConnection(new NatsOpts { Url = silo.Url, RequestTimeout = TimeSpan.FromSeconds(20) }))
            {
                var js = nats.CreateJetStreamContext();
                var names = new List<string>();
                await foreach (var name in js.ListStreamNamesAsync())
                    names.Add(name);
                Assert.Equal(Enumerable.Range(0, FileStreams).Select(i => $"F{i}").Order(), names.Order());
                for (int i = 0; i < FileStreams; i++)
                {
                    var stream = await js.GetStreamAsync($"F{i}");
                    Assert.Equal(i == 0 ? 2 : 1, stream.Info.State.Messages);
                    var msg = await stream.GetAsync(new StreamMsgGetRequest { Seq = 1 });
                    Assert.Equal($"file-{i}", Encoding.UTF8.GetString(msg.Message.Data.Span));
                }
                (await js.PublishAsync($"f.{FileStreams - 1}", "after restart")).EnsureSuccess();
                Assert.InRange(OpenDescriptors(silo), 0, FileLimit - 64);
            }
            output.WriteLine($"every stream read back {restart.Elapsed} after the restart");
            // Bounds against the failure this guards (activating every stream at once timed out after 2 minutes), with
            // room for a loaded CI machine: 13 s and 40 s were seen at a load average of 40 on 2 cores.
            Assert.True(ready < TimeSpan.FromSeconds(30), $"restart took {ready}");
            Assert.True(restart.Elapsed < TimeSpan.FromSeconds(90), $"restart and reading every stream took {restart.Elapsed}");
        }
        finally
        {
            await silo.DisposeAsync();
        }
    }

    /// <summary>Creates streams M0, M1, ... (subjects m.0, m.1, ..., one message each) until one is refused.</summary>
    private static async Task<NatsJSApiException> CreateStreamsUntilRefusedAsync(INatsJSContext js, StreamConfigStorage storage, int max)
    {
        for (int i = 0; i < max; i++)
        {
            try
            {
                await js.CreateStreamAsync(new StreamConfig($"M{i}", [$"m.{i}"]) { Storage = storage });
                (await js.PublishAsync($"m.{i}", $"stored-{i}")).EnsureSuccess();
            }
            catch (NatsJSApiException refused)
            {
                Assert.True(i > 0, "not even one stream was created");
                return refused;
            }
        }
        throw new Xunit.Sdk.XunitException($"{max} {storage} streams were created without a refusal");
    }

    private static int OpenDescriptors(SiloProcess silo) => Directory.GetFileSystemEntries($"/proc/{silo.ProcessId}/fd").Length;
}
