using System.Diagnostics;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Orleans;

/// <summary>The README's client samples, run as processes against a silo process, as a developer would run them.</summary>
public sealed class SampleTests
{
    [Fact]
    public async Task The_external_client_and_rewind_samples_run_against_a_silo()
    {
        await using var silo = await SiloProcess.StartAsync(extraArgs: ["--orleans_streams", "sensors"]);

        var (code, output) = await RunAsync("ExternalClientSample", silo.OrleansGatewayPort);
        Assert.True(code == 0, output);
        Assert.Contains("published 5 orders, sequences 1..5", output);
        Assert.Contains("billing got #5 orders.us order 5 (Order-Id 5)", output);
        Assert.Contains("provider event stored in stream sensors as #1: \"21.5 C\"", output);

        (code, output) = await RunAsync("RewindSample", silo.OrleansGatewayPort);
        Assert.True(code == 0, output);
        Assert.Equal(5, output.Split('\n').Count(l => l.StartsWith("live ", StringComparison.Ordinal)));
        Assert.Equal(3, output.Split('\n').Count(l => l.StartsWith("replay ", StringComparison.Ordinal)));
    }

    /// <summary>samples/&lt;name&gt;/bin/&lt;configuration&gt;/&lt;tfm&gt;/&lt;name&gt;.dll, built with the same configuration as these tests.</summary>
    internal static string SampleDll(string name)
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var (tfm, configuration) = (here.Name, here.Parent!.Name);
        var root = here;
        while (!File.Exists(Path.Combine(root.FullName, "Platform.sln")))
            root = root.Parent ?? throw new DirectoryNotFoundException("Platform.sln above " + AppContext.BaseDirectory);
        return Path.Combine(root.FullName, "samples", name, "bin", configuration, tfm, name + ".dll");
    }

    private static async Task<(int Code, string Output)> RunAsync(string sample, int gatewayPort)
    {
        var dll = SampleDll(sample);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { dll, "--GatewayPort", gatewayPort.ToString() })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{dll} did not finish in 60 s: {await stdout}{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
