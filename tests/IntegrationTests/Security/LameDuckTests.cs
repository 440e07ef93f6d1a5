using System.Net.Sockets;
using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Security;

/// <summary>SIGUSR2 puts the silo in lame duck mode, as it does nats-server: clients are told with an INFO carrying
/// "ldm":true, new connections are turned away, clients are closed over the lame duck duration, and the process exits.</summary>
public sealed class LameDuckTests
{
    [Fact]
    public async Task Sigusr2_tells_clients_then_the_silo_exits_by_itself()
    {
        var config = await PermissionsTests.WriteConfigAsync("lame_duck_duration: \"3s\"\nlame_duck_grace_period: \"1s\"\n");
        await using var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-c", config]);

        var lameDuck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clients = new List<NatsConnection>();
        for (int i = 0; i < 3; i++)
        {
            var nats = new NatsConnection(new NatsOpts { Url = silo.Url, MaxReconnectRetry = 0, ReconnectWaitMin = TimeSpan.FromMilliseconds(100) });
            nats.LameDuckModeActivated += (_, _) =>
            {
                lameDuck.TrySetResult();
                return ValueTask.CompletedTask;
            };
            await nats.ConnectAsync();
            clients.Add(nats);
        }

        silo.Signal(Posix.SIGUSR2);
        await lameDuck.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // In lame duck mode a new connection is closed without an INFO.
        using (var late = new TcpClient())
        {
            await late.ConnectAsync("127.0.0.1", silo.Port);
            var buffer = new byte[256];
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            Assert.Equal(0, await late.GetStream().ReadAsync(buffer, cts.Token));
        }

        Assert.True(await silo.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the silo did not exit after the lame duck duration\n" + silo.Output);
        Assert.Equal(0, silo.ExitCode);
        Assert.Contains("Entering lame duck mode, stop accepting new clients", silo.Output);
        Assert.Contains("Closing existing clients", silo.Output);
        foreach (var nats in clients)
            await nats.DisposeAsync();
    }

    [Fact]
    public async Task Signal_flag_puts_a_running_silo_in_lame_duck_mode()
    {
        await using var silo = await SiloProcess.StartAsync(jetStream: false);
        var (exitCode, output) = await SiloProcess.RunToExitAsync("--signal", $"ldm={silo.ProcessId}");
        Assert.True(exitCode == 0, output);
        // No clients: nothing to wait for, the silo shuts down at once.
        Assert.True(await silo.WaitForExitAsync(TimeSpan.FromSeconds(30)), silo.Output);
        Assert.Equal(0, silo.ExitCode);
        Assert.Contains("Entering lame duck mode", silo.Output);
    }
}
