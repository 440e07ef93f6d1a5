using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Security;

/// <summary>-l: the silo logs to the file (and not to the console), as nats-server does.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task Log_flag_writes_the_log_to_the_file()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"silo-log-{Guid.NewGuid():N}");
        var file = Path.Combine(dir, "silo.log");
        await using (var silo = await SiloProcess.StartAsync(jetStream: false, extraArgs: ["-l", file]))
        {
            var text = await File.ReadAllTextAsync(file);
            Assert.Contains($"Listening for client connections on 127.0.0.1:{silo.Port}", text);
            Assert.DoesNotContain("Listening for client connections", silo.Output);
            await silo.StopAsync();
        }
        Assert.Contains("Server is ready", await File.ReadAllTextAsync(file));
        Assert.Matches(@"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} info: ", (await File.ReadAllLinesAsync(file)).First(l => l.Contains("Listening")));
    }
}
