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
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        ulong previousLast = 0, highestFloor = 0;
        for (int round = 1; round <= rounds; round++)
        {
            var killAfter = TimeSpan.FromMilliseconds(random.Next(0, 1500));
            var (acked, floor) = await RunAndKillAsync(directory.Path, killAfter, retain);
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
    private static async Task<(ulong Acked, ulong Floor)> RunAndKillAsync(string directory, TimeSpan killAfter, bool retain)
    {
        ulong acked = 0, floor = 0;
        await CrashWriter.RunAndKillAsync(retain ? [directory, "--retain"] : [directory],
            line => line.StartsWith("acked ", StringComparison.Ordinal), killAfter, line =>
            {
                // Lines the writer printed before dying are still in the pipe; they count as acks too.
                if (line.StartsWith("acked ", StringComparison.Ordinal))
                    acked = ulong.Parse(line.AsSpan(6));
                else if (line.StartsWith("floor ", StringComparison.Ordinal))
                    floor = ulong.Parse(line.AsSpan(6));
            });
        return (acked, floor);
    }
}
