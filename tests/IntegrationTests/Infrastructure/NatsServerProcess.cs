using System.Diagnostics;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>The real nats-server (Debian's 2.9.10) on a free port with JetStream and its own store, for differential tests.</summary>
public sealed class NatsServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _storeDir;

    private NatsServerProcess(Process process, int port, int httpPort, string storeDir)
    {
        _process = process;
        Port = port;
        HttpPort = httpPort;
        _storeDir = storeDir;
    }

    public int Port { get; }
    /// <summary>The monitoring port (-m), or 0 when started without monitoring.</summary>
    public int HttpPort { get; }
    public string Url => $"nats://127.0.0.1:{Port}";

    public static string? ExecutablePath =>
        new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server" }.FirstOrDefault(File.Exists);

    public const string SkipReason = "nats-server is not installed (apt-get install nats-server); differential tests need the real server";

    public static Task<NatsServerProcess> StartAsync(params string[] extraArgs) => StartAsync(jetStream: true, monitoring: false, extraArgs);

    /// <summary>Starts nats-server; with <paramref name="monitoring"/> also its HTTP monitoring on a free port (-m).</summary>
    public static Task<NatsServerProcess> StartAsync(bool jetStream, bool monitoring, params string[] extraArgs)
        => StartAsync(jetStream, monitoring, fileLimit: 0, extraArgs);

    /// <summary>A JetStream nats-server whose file descriptor limit is <paramref name="fileLimit"/> (ulimit -n).</summary>
    public static Task<NatsServerProcess> StartWithFileLimitAsync(int fileLimit)
        => StartAsync(jetStream: true, monitoring: false, fileLimit, []);

    private static async Task<NatsServerProcess> StartAsync(bool jetStream, bool monitoring, int fileLimit, string[] extraArgs)
    {
        var exe = ExecutablePath ?? throw new InvalidOperationException(SkipReason);
        int port = SiloProcess.FreePort();
        int httpPort = monitoring ? SiloProcess.FreePort() : 0;
        var storeDir = Path.Combine(Path.GetTempPath(), "nats-ref-" + Guid.NewGuid().ToString("N"));
        var info = SiloProcess.Command(exe, fileLimit);
        var args = new List<string> { "-a", "127.0.0.1", "-p", port.ToString(), "-sd", storeDir };
        if (jetStream)
            args.Add("-js");
        if (monitoring)
            args.AddRange(["-m", httpPort.ToString()]);
        foreach (var a in args.Concat(extraArgs))
            info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                // The monitoring listener starts before the client one, so the client port answering means both are up.
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return new NatsServerProcess(process, port, httpPort, storeDir);
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
