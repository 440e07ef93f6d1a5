using System.Reflection;
using System.Text;
using Platform.Grains.Storage;
using ZoneTree;

namespace Platform.StorageCrashWriter;

/// <summary>
/// Fixed sequences of appends, checkpoints and removals for the recovery tests, each ending at the moment the test
/// kills the writer ("done" printed): checkpoints land exactly where the scenario needs them.
/// </summary>
internal static class Scenarios
{
    private static readonly string[] Subjects = ["r.a", "r.b", "r.c", "r.kv.1", "r.kv.2"];

    /// <summary>No automatic checkpoints: only those the scenario asks for.</summary>
    public static MessageLogOptions Options(string directory) => new() { Directory = directory, CheckpointEveryChanges = long.MaxValue };

    public static async Task RunAsync(ZoneTreeMessageLog log, string name, string directory)
    {
        switch (name)
        {
            case "two-checkpoints":
                // Removals before the newer checkpoint are in it; those after are journaled against it.
                Append(log, 300);
                await log.CheckpointAsync();
                RemoveSome(log, 1);
                Append(log, 100);
                await log.CheckpointAsync();
                RemoveSome(log, 2);
                Append(log, 50);
                break;
            case "lost-checkpoint":
                // The newer checkpoint's file is replaced by the older one, as if the crash came while it was written.
                Append(log, 300);
                await log.CheckpointAsync();
                RemoveSome(log, 1);
                var older = File.ReadAllBytes(RecoveryCheckpoint.PathIn(directory));
                Append(log, 100);
                await log.CheckpointAsync();
                RemoveSome(log, 2);
                File.WriteAllBytes(RecoveryCheckpoint.PathIn(directory), older);
                break;
            case "checkpoint-then-removals":
                Append(log, 500);
                await log.CheckpointAsync();
                RemoveSome(log, 3);
                Append(log, 20);
                break;
            case "interrupted-delete":
                // A delete stopped after its journal entry and its tree delete, before its metadata write.
                Append(log, 200);
                await log.CheckpointAsync();
                RemoveSome(log, 1);
                Interrupt(log, 50, deleted: true);
                break;
            case "interrupted-delete-before-its-write":
                // The same, stopped before the tree delete: recovery finishes it.
                Append(log, 200);
                await log.CheckpointAsync();
                RemoveSome(log, 1);
                Interrupt(log, log.State.FirstSequence, deleted: false);
                break;
            case "interrupted-range":
                // Retention stopped after its journal entry, before its metadata write (which is the removal).
                Append(log, 200);
                await log.CheckpointAsync();
                RemoveSome(log, 1);
                InterruptRange(log, log.State.FirstSequence + 20);
                Append(log, 10);
                break;
            case "interrupted-batch":
                // An atomic batch of 10 the crash stops after 6 of its appends: recovery must leave none of it.
                Append(log, 300);
                await log.CheckpointAsync();
                Append(log, 20);
                _ = log.BeginAtomic(10);
                Append(log, 6);
                break;
            case "completed-batch":
                // The same batch appended whole, then more: all of it stays.
                Append(log, 300);
                await log.CheckpointAsync();
                Append(log, 20);
                using (log.BeginAtomic(10))
                    Append(log, 10);
                Append(log, 5);
                break;
            default:
                throw new ArgumentException($"no scenario {name}");
        }
    }

    /// <summary>
    /// Does the first writes of a delete of <paramref name="sequence"/> as the log would (journal entry, then the tree
    /// delete if <paramref name="deleted"/>) and stops there, as a crash between them would. Reaches into the log by
    /// reflection: nothing in it may offer to stop halfway.
    /// </summary>
    private static void Interrupt(ZoneTreeMessageLog log, ulong sequence, bool deleted)
    {
        Assert(log.TryGet(sequence, out var record), $"no message {sequence} to delete");
        var journal = new RemovalJournal.Writer();
        journal.BeginMessages(CheckpointBase(log));
        journal.AddMessage(sequence, record.Size, record.SubjectBytes);
        var tree = Tree(log);
        tree.Upsert(RemovalJournal.KeyOf(Removals(tree) + 1), journal.ToArray());
        if (deleted)
            tree.ForceDelete(sequence);
    }

    private static void InterruptRange(ZoneTreeMessageLog log, ulong floor)
    {
        var journal = new RemovalJournal.Writer();
        journal.BeginRange(CheckpointBase(log), floor);
        var tree = Tree(log);
        tree.Upsert(RemovalJournal.KeyOf(Removals(tree) + 1), journal.ToArray());
    }

    private static IZoneTree<ulong, byte[]> Tree(ZoneTreeMessageLog log) =>
        (IZoneTree<ulong, byte[]>)typeof(ZoneTreeMessageLog).GetField("_tree", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(log)!;

    private static ulong CheckpointBase(ZoneTreeMessageLog log) =>
        (ulong)typeof(ZoneTreeMessageLog).GetField("_checkpointBase", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(log)!;

    private static ulong Removals(IZoneTree<ulong, byte[]> tree) =>
        tree.TryGet(LogMetadata.Key, out var metadata) ? LogMetadata.Decode(metadata).Removals : 0;

    private static void Assert(bool condition, string message)
    {
        if (!condition)
            throw new InvalidOperationException(message);
    }

    private static void Append(IMessageLog log, int count)
    {
        for (int i = 0; i < count; i++)
        {
            ulong next = log.State.LastSequence + 1;
            log.Append(Encoding.ASCII.GetBytes(Subjects[next % (ulong)Subjects.Length]), CrashMessages.Headers(next), CrashMessages.Payload(next), CrashMessages.Timestamp(next));
        }
    }

    /// <summary>One of each kind of removal, different ones each round.</summary>
    private static void RemoveSome(IMessageLog log, int round)
    {
        var state = log.State;
        log.Delete(state.FirstSequence + 7UL * (ulong)round);
        log.Delete(state.LastSequence - (ulong)round);
        log.RemoveBelow(state.FirstSequence + 10UL * (ulong)round);
        log.Purge("r.kv.*", 0, 2);
        log.Purge("r.a", state.FirstSequence + 40UL * (ulong)round, 0);
        log.Purge(null, 0, state.Messages - 5UL * (ulong)round);
    }
}
