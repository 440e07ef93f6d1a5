using System.Diagnostics;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// A full disk is a failed publish (an error ack), never a silent drop: the store directory sits on a small tmpfs
/// that fills up, and everything acked before stays readable while the silo keeps serving.
/// </summary>
public sealed class FullDiskTests
{
    [SkippableFact]
    public async Task Publishes_past_a_full_disk_get_error_acks_and_acked_messages_stay_readable()
    {
        var mountPoint = Path.Combine(Path.GetTempPath(), "silo-fulldisk-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(mountPoint);
        var mounted = await RunAsync("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", mountPoint);
        Skip.If(mounted != 0, "mounting a small tmpfs needs root (CAP_SYS_ADMIN); this test fills a disk on purpose");
        try
        {
            await using var silo = await SiloProcess.StartAsync(dataDirectory: mountPoint);
            await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
            var js = nats.CreateJetStreamContext();
            await js.CreateStreamAsync(new StreamConfig("FULL", ["full.>"]));
            var payload = new byte[8 * 1024];
            new Random(3).NextBytes(payload);
            var acked = new List<ulong>();
            PubAckResponse? refused = null;
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (refused is null && DateTime.UtcNow < deadline)
            {
                var ack = await js.PublishAsync("full.data", payload);
                if (ack.Error is not null)
                    refused = ack;
                else
                    acked.Add(ack.Seq);
            }
            Assert.NotNull(refused);
            Assert.Equal(10077, refused!.Error!.ErrCode);
            Assert.NotEmpty(acked);

            // Still serving: stream info, the acked messages, and core messaging.
            var stream = await js.GetStreamAsync("FULL");
            Assert.True(stream.Info.State.Messages >= acked.Count);
            foreach (var seq in new[] { acked[0], acked[acked.Count / 2], acked[^1] })
            {
                var msg = await stream.GetAsync(new StreamMsgGetRequest { Seq = seq });
                Assert.Equal(payload, msg.Message.Data.ToArray());
            }
            await using var sub = await nats.SubscribeCoreAsync<string>("still.alive");
            await nats.PublishAsync("still.alive", "yes");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Assert.Equal("yes", (await sub.Msgs.ReadAsync(cts.Token)).Data);
        }
        finally
        {
            await RunAsync("umount", "-l", mountPoint);
        }
    }

    private static async Task<int> RunAsync(string file, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args)
                info.ArgumentList.Add(a);
            using var process = Process.Start(info)!;
            await process.WaitForExitAsync();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}
