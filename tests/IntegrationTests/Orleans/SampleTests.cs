using System.Diagnostics;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Orleans;

/// <summary>The README's samples, run as processes (the client samples against a silo process), as a developer would run them.</summary>
public sealed class SampleTests
{
    [Fact]
    public async Task The_external_client_and_rewind_samples_run_against_a_silo()
    {
        await using var silo = await SiloProcess.StartAsync(extraArgs: ["--orleans_streams", "sensors"]);

        var (code, output) = await RunAsync("ExternalClientSample", "--GatewayPort", silo.OrleansGatewayPort.ToString());
        Assert.True(code == 0, output);
        Assert.Contains("published 5 orders, sequences 1..5", output);
        Assert.Contains("billing got #5 orders.us order 5 (Order-Id 5)", output);
        Assert.Contains("provider event stored in stream sensors as #1: \"21.5 C\"", output);

        (code, output) = await RunAsync("RewindSample", "--GatewayPort", silo.OrleansGatewayPort.ToString());
        Assert.True(code == 0, output);
        Assert.Equal(5, output.Split('\n').Count(l => l.StartsWith("live ", StringComparison.Ordinal)));
        Assert.Equal(3, output.Split('\n').Count(l => l.StartsWith("replay ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_co_hosted_sample_runs_the_platform_and_its_own_grain_on_a_plain_orleans_host()
    {
        var store = Path.Combine(Path.GetTempPath(), "co-hosted-sample-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (code, output) = await RunAsync("StreamConsumerSample", "--Store", store,
                "--SiloPort", SiloProcess.FreePort().ToString(), "--GatewayPort", SiloProcess.FreePort().ToString());
            Assert.True(code == 0, output);
            Assert.Contains("RoomGrain kitchen: #1 18 °C, #3 19 °C, #5 20 °C", output);
            Assert.Contains("RoomGrain attic: #2 18.5 °C, #4 19.5 °C, #6 20.5 °C", output);
        }
        finally
        {
            if (Directory.Exists(store))
                Directory.Delete(store, recursive: true);
        }
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

    private static async Task<(int Code, string Output)> RunAsync(string sample, params string[] args)
    {
        var dll = SampleDll(sample);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args.Prepend(dll))
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
