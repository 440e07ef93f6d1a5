using Platform.Grains.Storage;

namespace Platform.StorageCrashWriter;

/// <summary>
/// Appends, deletes, retention and purges of every kind in a random order from a seed, for the recovery tests: they
/// kill the writer at a random moment and compare the state recovered from the checkpoint with a full scan's.
/// Checkpoints come every 2,000 changes, so kills land before, during and after them and mid-removal.
/// </summary>
internal static class RandomOps
{
    public const long CheckpointEvery = 2_000;

    private static readonly string[] Subjects = ["ops.a", "ops.b", "ops.c", "ops.d", "ops.e", "ops.kv.1", "ops.kv.2", "ops.kv.3", "ops.日本"];

    public static MessageLogOptions Options(string directory) => new() { Directory = directory, CheckpointEveryChanges = CheckpointEvery };

    public static async Task RunAsync(IMessageLog log, int seed, TextWriter stdout)
    {
        var random = new Random(seed);
        for (long op = 1; ; op++)
        {
            await log.WaitForCapacityAsync();
            Apply(log, random);
            if (op % 100 == 0)
            {
                stdout.WriteLine($"ops {op}");
                stdout.Flush();
            }
        }
    }

    public static void Apply(IMessageLog log, Random random)
    {
        var state = log.State;
        int roll = random.Next(1000);
        if (roll < 760 || state.Messages == 0)
        {
            ulong next = state.LastSequence + 1;
            log.Append(CrashMessages.SubjectFor(Subjects[random.Next(Subjects.Length)]), CrashMessages.Headers(next), CrashMessages.Payload(next), CrashMessages.Timestamp(next));
        }
        else if (roll < 880)
        {
            log.Delete(state.FirstSequence + (ulong)random.NextInt64((long)(state.LastSequence - state.FirstSequence + 1)));
        }
        else if (roll < 930)
        {
            // Retention: a few from the head, as max_msgs and max_age remove them.
            log.RemoveBelow(state.FirstSequence + (ulong)random.Next(1, 4));
        }
        else if (roll < 960)
        {
            // KV: keep the newest few of one subject (history), or a rollup of it.
            log.Purge(Subjects[random.Next(Subjects.Length)], 0, (ulong)random.Next(50, 1000));
        }
        else if (roll < 980)
        {
            ulong below = random.Next(2) == 0 ? 0 : state.FirstSequence + (ulong)random.NextInt64((long)state.Messages + 1);
            log.Purge("ops.kv.*", below, (ulong)random.Next(3));
        }
        else if (roll < 990)
        {
            log.Purge(null, 0, (ulong)random.Next(2000, 20000));
        }
        else if (roll < 991)
        {
            log.Purge(">", 0, 0);
        }
        else if (roll < 995)
        {
            log.RemoveBelow(state.FirstSequence + state.Messages / 2);
        }
        else
        {
            log.Delete(state.LastSequence);
        }
    }
}
