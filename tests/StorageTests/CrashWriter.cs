using System.Diagnostics;

namespace Platform.StorageTests;

/// <summary>Runs tests/StorageCrashWriter as a child process and SIGKILLs it: the crash the storage tests recover from.</summary>
internal static class CrashWriter
{
    /// <summary>
    /// Starts the writer with <paramref name="arguments"/>, waits for the first line <paramref name="started"/>
    /// accepts, lets it run <paramref name="killAfter"/> longer, kills it, and hands every line it printed before dying
    /// (even those still in the pipe) to <paramref name="onLine"/>.
    /// </summary>
    public static async Task RunAndKillAsync(IEnumerable<string> arguments, Func<string, bool> started, TimeSpan killAfter, Action<string> onLine)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Locate());
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the crash writer");
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stdout = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                onLine(line);
                if (started(line))
                    ready.TrySetResult();
            }
        });
        var stderr = process.StandardError.ReadToEndAsync();

        var first = await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != ready.Task)
            Assert.Fail($"the writer did not get going: {await DrainAsync(process, stderr)}");
        await Task.Delay(killAfter);
        if (process.HasExited)
            Assert.Fail($"the writer stopped by itself: {await DrainAsync(process, stderr)}");

        process.Kill();
        await process.WaitForExitAsync();
        await stdout;
        await stderr;
    }

    private static async Task<string> DrainAsync(Process process, Task<string> stderr)
    {
        if (!process.HasExited)
            process.Kill();
        await process.WaitForExitAsync();
        return $"exit {process.ExitCode}, stderr: {await stderr}";
    }

    /// <summary>The writer is built next to the tests (bin/&lt;configuration&gt;/&lt;framework&gt;) by the project reference.</summary>
    private static string Locate()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = output.Name;
        string configuration = output.Parent!.Name;
        var testsDirectory = output.Parent.Parent!.Parent!.Parent!;
        string path = Path.Combine(testsDirectory.FullName, "StorageCrashWriter", "bin", configuration, framework, "Platform.StorageCrashWriter.dll");
        Assert.True(File.Exists(path), $"crash writer not built at {path}");
        return path;
    }
}
