using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway Redis (Debian's redis-server) on a free loopback port with persistence on (an append-only file,
/// fsynced every write), in its own temporary directory; killed and removed on dispose.
/// </summary>
public sealed class RedisProcess : IAsyncDisposable
{
    private const string Executable = "/usr/bin/redis-server";
    private readonly Process _process;
    private readonly string _root;

    private RedisProcess(Process process, string root, int port)
    {
        _process = process;
        _root = root;
        Port = port;
    }

    public int Port { get; }

    /// <summary>What a silo takes as <c>--cluster_store</c>.</summary>
    public string Url => $"redis://127.0.0.1:{Port}";

    /// <summary>Why a test that needs Redis skips; null when it can run.</summary>
    public static string? SkipReason
        => File.Exists(Executable) ? null : "Redis is not installed (apt-get install redis-server; .ci/run does): the Redis cluster test needs it";

    public static async Task<RedisProcess> StartAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), "redis-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        int port = SiloProcess.FreePort();
        var info = new ProcessStartInfo(Executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--dir", root, "--appendonly", "yes",
                     "--appendfsync", "always", "--save", "", "--daemonize", "no" })
            info.ArgumentList.Add(arg);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var redis = new RedisProcess(process, root, port);
        var deadline = Stopwatch.StartNew();
        while (!await redis.PingsAsync())
        {
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(20))
            {
                await redis.DisposeAsync();
                throw new InvalidOperationException("redis-server did not answer PING within 20 s");
            }
            await Task.Delay(50);
        }
        return redis;
    }

    private async Task<bool> PingsAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            int read = await stream.ReadAsync(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }
}
