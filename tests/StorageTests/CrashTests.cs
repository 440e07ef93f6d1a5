using System.Diagnostics;
using Platform.Grains.Storage;
using Platform.StorageCrashWriter;
using Xunit.Abstractions;

namespace Platform.StorageTests;

/// <summary>
/// The durability contract under kill -9: a writer process prints "acked N" after Append returns for N and is
/// SIGKILLed at a random moment; every acked message must then be in the log, intact, with no holes.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    [Fact]
    public Task Acked_messages_survive_kill_9() => KillRepeatedlyAsync(rounds: 5, retain: false);

    /// <summary>The same with retention moving the floor as it writes: the floor must survive too, and merges that
    /// drop records below it must never take anything above it.</summary>
    [Fact]
    public Task Acked_messages_and_the_floor_survive_kill_9() => KillRepeatedlyAsync(rounds: 3, retain: true);

    private async Task KillRepeatedlyAsync(int rounds, bool retain)
    {
        using var directory = new TempDirectory();
        string writer = LocateWriter();
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        ulong previousLast = 0, highestFloor = 0;
        for (int round = 1; round <= rounds; round++)
        {
            var killAfter = TimeSpan.FromMilliseconds(random.Next(0, 1500));
            var (acked, floor) = await RunAndKillAsync(writer, directory.Path, killAfter, retain);
            highestFloor = Math.Max(highestFloor, floor);

            var opening = Stopwatch.StartNew();
            await using var log = ZoneTreeMessageLog.Open(new MessageLogOptions { Directory = directory.Path });
            var state = log.State;
            opening.Stop();
            output.WriteLine(
                $"round {round}: killed {killAfter.TotalMilliseconds:F0} ms after the first ack; acked through {acked} " +
                $"({(acked > previousLast ? acked - previousLast : 0)} this round), floor {highestFloor}; " +
                $"recovered {state.FirstSequence}..{state.LastSequence} in {opening.ElapsedMilliseconds} ms");

            Assert.True(state.LastSequence >= acked, $"acked {acked} but only {state.LastSequence} survived");
            Assert.True(state.LastSequence >= previousLast, "the log went backwards");
            if (retain)
            {
                Assert.True(state.FirstSequence >= highestFloor, $"first {state.FirstSequence} is below the acknowledged floor {highestFloor}");
                Assert.True(state.FirstSequence <= acked, $"first {state.FirstSequence} is past the last ack {acked}");
            }
            else
            {
                Assert.Equal(1UL, state.FirstSequence);
            }
            Assert.Equal(state.LastSequence - state.FirstSequence + 1, state.Messages);
            Assert.Equal(0, state.NumDeleted);
            VerifyContents(log, state.FirstSequence, state.LastSequence);
            previousLast = state.LastSequence;
        }
    }

    private static void VerifyContents(IMessageLog log, ulong first, ulong last)
    {
        var records = new List<LogRecord>(10_000);
        ulong expected = first;
        while (expected <= last)
        {
            records.Clear();
            int read = log.Read(expected, 10_000, 0, null, records);
            Assert.True(read > 0, $"nothing readable at {expected} of {last}");
            foreach (var record in records)
            {
                Assert.Equal(expected, record.Sequence);
                Assert.True(record.SubjectBytes.SequenceEqual(CrashMessages.Subject(expected)), $"subject of {expected}");
                Assert.True(record.Headers.SequenceEqual(CrashMessages.Headers(expected)), $"headers of {expected}");
                Assert.True(record.Payload.SequenceEqual(CrashMessages.Payload(expected)), $"payload of {expected}");
                Assert.Equal(CrashMessages.Timestamp(expected), record.TimestampNanos);
                expected++;
            }
        }
    }

    /// <summary>Runs the writer until <paramref name="killAfter"/> past its first ack, SIGKILLs it, returns the highest ack and floor it printed.</summary>
    private static async Task<(ulong Acked, ulong Floor)> RunAndKillAsync(string writer, string directory, TimeSpan killAfter, bool retain)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(writer);
        start.ArgumentList.Add(directory);
        if (retain)
            start.ArgumentList.Add("--retain");

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the crash writer");
        var firstAck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ulong acked = 0, floor = 0;
        var stdout = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("acked ", StringComparison.Ordinal))
                {
                    acked = ulong.Parse(line.AsSpan(6));
                    firstAck.TrySetResult();
                }
                else if (line.StartsWith("floor ", StringComparison.Ordinal))
                {
                    floor = ulong.Parse(line.AsSpan(6));
                }
            }
        });
        var stderr = process.StandardError.ReadToEndAsync();

        var started = await Task.WhenAny(firstAck.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30)));
        if (started != firstAck.Task)
            Assert.Fail($"the writer did not start acking: {await DrainAsync(process, stderr)}");
        await Task.Delay(killAfter);
        if (process.HasExited)
            Assert.Fail($"the writer stopped by itself: {await DrainAsync(process, stderr)}");

        process.Kill();
        await process.WaitForExitAsync();
        // Lines the writer printed before dying are still in the pipe; they count as acks too.
        await stdout;
        await stderr;
        return (acked, floor);
    }

    private static async Task<string> DrainAsync(Process process, Task<string> stderr)
    {
        if (!process.HasExited)
            process.Kill();
        await process.WaitForExitAsync();
        return $"exit {process.ExitCode}, stderr: {await stderr}";
    }

    /// <summary>The writer is built next to the tests (bin/&lt;configuration&gt;/&lt;framework&gt;) by the project reference.</summary>
    private static string LocateWriter()
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
