using System.Diagnostics;
using Npgsql;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL (Debian's postgresql package, any version under /usr/lib/postgresql) on a free loopback port,
/// in its own temporary directory, trusting local connections as user "platform". PostgreSQL refuses to run as root,
/// so as root (CI) it runs as the package's "postgres" user. Stopped with "immediate" and removed on dispose.
/// </summary>
public sealed class PostgresProcess : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _root;
    private readonly string? _runAs;

    private PostgresProcess(string bin, string root, string? runAs, int port)
    {
        _bin = bin;
        _root = root;
        _runAs = runAs;
        Port = port;
    }

    public int Port { get; }

    /// <summary>What a silo takes as <c>--cluster_store</c>.</summary>
    public string Url => $"postgres://platform@127.0.0.1:{Port}/postgres";

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=platform;Database=postgres";

    /// <summary>The directory of initdb and pg_ctl, newest version first; null when PostgreSQL is not installed.</summary>
    public static string? BinDirectory
    {
        get
        {
            const string root = "/usr/lib/postgresql";
            if (!Directory.Exists(root))
                return null;
            return Directory.GetDirectories(root)
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
                .OrderByDescending(d => d, StringComparer.Ordinal)
                .FirstOrDefault();
        }
    }

    /// <summary>Why a test that needs PostgreSQL skips; null when it can run.</summary>
    public static string? SkipReason
    {
        get
        {
            if (BinDirectory is null)
                return "PostgreSQL is not installed (apt-get install postgresql; .ci/run does): cluster tests need a membership store";
            if (Environment.UserName == "root" && !UserExists("postgres"))
                return "running as root without a \"postgres\" user, and PostgreSQL refuses to run as root";
            return null;
        }
    }

    public static async Task<PostgresProcess> StartAsync()
    {
        var bin = BinDirectory ?? throw new InvalidOperationException(SkipReason);
        var runAs = Environment.UserName == "root" ? "postgres" : null;
        // The postgres user must reach the directory: /tmp rather than a TMPDIR that may sit under /root.
        var root = Path.Combine(runAs is null ? Path.GetTempPath() : "/tmp", "pg-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        if (runAs is not null)
            await RunAsync("chown", [runAs, root], null, TimeSpan.FromSeconds(10));
        var data = Path.Combine(root, "data");
        await RunAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", "platform", "--auth=trust", "-E", "UTF8", "--no-sync"], runAs, TimeSpan.FromSeconds(60));
        int port = SiloProcess.FreePort();
        // fsync off: the membership table of a test cluster need not survive a power cut, and fsync is slow here.
        var options = $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off";
        await RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", data, "-o", options, "-l", Path.Combine(root, "log"), "-w", "-t", "30", "start"], runAs, TimeSpan.FromSeconds(40));
        return new PostgresProcess(bin, root, runAs, port);
    }

    /// <summary>Runs a statement and returns the first column of each row, as text.</summary>
    public async Task<List<string>> QueryAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
            rows.Add(Convert.ToString(reader.GetValue(0)) ?? "");
        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_root, "data"), "-m", "immediate", "-w", "stop"], _runAs, TimeSpan.FromSeconds(30));
        }
        catch (InvalidOperationException)
        {
        }
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    private static async Task RunAsync(string exe, string[] args, string? runAs, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(runAs is null ? exe : "runuser") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (runAs is not null)
        {
            info.ArgumentList.Add("-u");
            info.ArgumentList.Add(runAs);
            info.ArgumentList.Add("--");
            info.ArgumentList.Add(exe);
        }
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(true);
            throw new InvalidOperationException($"{Path.GetFileName(exe)} did not finish within {timeout.TotalSeconds} s");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(exe)} {string.Join(' ', args)} exited with {process.ExitCode}: {await stdout}{await stderr}");
    }

    private static bool UserExists(string name)
        => File.ReadLines("/etc/passwd").Any(line => line.StartsWith(name + ":", StringComparison.Ordinal));
}
