using System.Diagnostics;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>The real nats-server (Debian's 2.9.10) on a free port with JetStream and its own store, for differential tests.</summary>
public sealed class NatsServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _storeDir;

    private NatsServerProcess(Process process, int port, string storeDir)
    {
        _process = process;
        Port = port;
        _storeDir = storeDir;
    }

    public int Port { get; }
    public string Url => $"nats://127.0.0.1:{Port}";

    public static string? ExecutablePath =>
        new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server" }.FirstOrDefault(File.Exists);

    public const string SkipReason = "nats-server is not installed (apt-get install nats-server); differential tests need the real server";

    public static async Task<NatsServerProcess> StartAsync(params string[] extraArgs)
    {
        var exe = ExecutablePath ?? throw new InvalidOperationException(SkipReason);
        int port = SiloProcess.FreePort();
        var storeDir = Path.Combine(Path.GetTempPath(), "nats-ref-" + Guid.NewGuid().ToString("N"));
        var info = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-a", "127.0.0.1", "-p", port.ToString(), "-js", "-sd", storeDir }.Concat(extraArgs))
            info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return new NatsServerProcess(process, port, storeDir);
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(50);
            }
        }
        process.Kill();
        throw new TimeoutException("nats-server did not start");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try { Directory.Delete(_storeDir, true); } catch (IOException) { }
    }
}
