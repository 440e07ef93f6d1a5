using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>
/// A real silo process started the way a user starts it (the built executable with nats-server flags), on free
/// ports, with its own data directory. Killing it is a real SIGKILL.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SiloProcess(Process process, string dataDirectory, int port, int httpPort, int orleansGatewayPort)
    {
        _process = process;
        DataDirectory = dataDirectory;
        Port = port;
        HttpPort = httpPort;
        OrleansGatewayPort = orleansGatewayPort;
    }

    public string DataDirectory { get; }
    public int Port { get; }
    public int HttpPort { get; }
    /// <summary>The Orleans client gateway port, for external Orleans clients (UseLocalhostClustering(port)).</summary>
    public int OrleansGatewayPort { get; }
    public string Url => $"nats://127.0.0.1:{Port}";
    public string Output { get { lock (_output) return _output.ToString(); } }
    public bool HasExited => _process.HasExited;
    public int ProcessId => _process.Id;
    public int ExitCode => _process.ExitCode;

    /// <summary>Sends a POSIX signal (e.g. SIGUSR2 for lame duck mode) to the silo process.</summary>
    public void Signal(int signal) => Posix.Signal(_process.Id, signal);

    /// <summary>
    /// The output once it contains <paramref name="text"/>: the silo's log lines arrive asynchronously, so a line
    /// written as it started may not have been read yet when <see cref="StartAsync(bool, string?, int, string[])"/> returns.
    /// </summary>
    public async Task<string> OutputContainingAsync(string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!Output.Contains(text, StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        return Output;
    }

    /// <summary>Fails the test unless the output comes to contain <paramref name="text"/> within 10 s.</summary>
    public async Task AssertOutputContainsAsync(string text) => Assert.Contains(text, await OutputContainingAsync(text));

    /// <summary>Waits for the process to exit by itself; false on timeout.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Starts a silo; with <paramref name="port"/> 0 a free port is chosen.</summary>
    public static Task<SiloProcess> StartAsync(bool jetStream = true, string? dataDirectory = null, int port = 0, params string[] extraArgs)
        => StartAsync(jetStream, dataDirectory, port, environment: null, extraArgs);

    /// <summary>The silo executable beside the tests.</summary>
    public static string DllPath => Path.Combine(AppContext.BaseDirectory, "Platform.Silo.dll");

    /// <summary>
    /// Runs the silo with <paramref name="args"/> for a command that exits by itself (-v, --signal, a bad config),
    /// and returns its exit code with stdout and stderr; fails after 30 s.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunToExitAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(DllPath);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>As above, with extra environment variables for the silo process only.</summary>
    public static Task<SiloProcess> StartAsync(bool jetStream, string? dataDirectory, int port, IDictionary<string, string>? environment, params string[] extraArgs)
        => StartAsync(jetStream, dataDirectory, port, environment, fileLimit: 0, extraArgs);

    /// <summary>
    /// A JetStream silo whose file descriptor limit (RLIMIT_NOFILE, soft and hard) is <paramref name="fileLimit"/>, set
    /// by the shell that then becomes the silo (exec), as `ulimit -n` does for a user.
    /// </summary>
    public static Task<SiloProcess> StartWithFileLimitAsync(int fileLimit, string? dataDirectory = null, params string[] extraArgs)
        => StartAsync(jetStream: true, dataDirectory, port: 0, environment: null, fileLimit, extraArgs);

    private static async Task<SiloProcess> StartAsync(bool jetStream, string? dataDirectory, int port, IDictionary<string, string>? environment, int fileLimit, string[] extraArgs)
    {
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "silo-test-" + Guid.NewGuid().ToString("N"));
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(jetStream, dataDirectory, port, environment, fileLimit, extraArgs);
            }
            // Ports chosen free (here, or by the silo for -1) can be taken by another process before the silo binds
            // them, when several silos start at once: start again with new ones, as a user would.
            catch (InvalidOperationException ex) when (attempt < 3 && port == 0 && ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
            }
        }
    }

    private static async Task<SiloProcess> StartOnceAsync(bool jetStream, string dataDirectory, int port, IDictionary<string, string>? environment, int fileLimit, string[] extraArgs)
    {
        Directory.CreateDirectory(dataDirectory);
        var portsDir = Path.Combine(Path.GetTempPath(), "silo-ports-" + Guid.NewGuid().ToString("N"));
        var silo = DllPath;
        // The Orleans gateway port is chosen here rather than by the silo (-1) so external Orleans clients know it;
        // the ports file only lists the NATS and monitoring URLs, as nats-server's does.
        int orleansGatewayPort = FreePort();
        var args = new List<string> { silo, "-a", "127.0.0.1", "-p", (port == 0 ? -1 : port).ToString(), "-m", "-1",
            "--silo_port", "-1", "--orleans_gateway_port", orleansGatewayPort.ToString(), "--ports_file_dir", portsDir, "-sd", dataDirectory };
        if (jetStream)
            args.Add("-js");
        args.AddRange(extraArgs);
        var info = Command("dotnet", fileLimit);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            info.Environment[key] = value;
        var process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"silo exited with {process.ExitCode}:\n{output}");
            var file = Directory.Exists(portsDir) ? Directory.GetFiles(portsDir, "*.ports").FirstOrDefault() : null;
            // The silo may have created the file without having written it yet: read it once it parses.
            if (file is not null && TryParse(await File.ReadAllTextAsync(file)) is { } json)
            {
                var nats = new Uri(json.RootElement.GetProperty("nats")[0].GetString()!);
                var http = new Uri(json.RootElement.GetProperty("monitoring")[0].GetString()!);
                var result = new SiloProcess(process, dataDirectory, nats.Port, http.Port, orleansGatewayPort);
                json.Dispose();
                lock (output) result._output.Append(output);
                process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (result._output) result._output.AppendLine(e.Data); };
                return result;
            }
            await Task.Delay(50);
        }
        process.Kill(true);
        throw new TimeoutException($"silo did not start:\n{output}");
    }

    private static JsonDocument? TryParse(string text)
    {
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM and wait for a clean exit.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
            return;
        Posix.Terminate(_process.Id);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }

    /// <summary>
    /// Runs <paramref name="executable"/> (arguments to be added), with output redirected; with a <paramref name="fileLimit"/>
    /// through a shell that sets it (`ulimit -n`, soft and hard) and then becomes the program (exec), so the process id stays.
    /// </summary>
    internal static ProcessStartInfo Command(string executable, int fileLimit = 0)
    {
        var info = new ProcessStartInfo(fileLimit > 0 ? "bash" : executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (fileLimit > 0)
        {
            foreach (var a in (string[])["-c", $"ulimit -n {fileLimit} && exec \"$@\"", "bash", executable])
                info.ArgumentList.Add(a);
        }
        return info;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

internal static class Posix
{
    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    public const int SIGUSR2 = 12;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;

    public static void Terminate(int pid) => kill(pid, 15);

    public static void Signal(int pid, int signal) => kill(pid, signal);
}
