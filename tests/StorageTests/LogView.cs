using System.Text;
using Platform.Grains.Storage;

namespace Platform.StorageTests;

/// <summary>
/// Everything a log tells about its state, as text that two logs can be compared by (with a readable diff): counts,
/// bytes, bounds, timestamps, deleted sequences, and per subject its count, first, last and last message.
/// </summary>
internal sealed record LogView(LogState State, string Text)
{
    private static readonly string[] Wildcards = [">", "ops.kv.*", "ops.>", "r.kv.*", "crash.*"];

    public static LogView Of(IMessageLog log)
    {
        var text = new StringBuilder();
        var state = log.State;
        text.AppendLine($"state {state}");
        text.AppendLine($"deleted {string.Join(',', log.DeletedSequences)}");
        var counts = log.SubjectCounts(">");
        var subjects = counts.Keys.ToList();
        subjects.Sort(StringComparer.Ordinal);
        foreach (var subject in subjects)
            Describe(log, subject, counts[subject], text);
        foreach (var wildcard in Wildcards)
            Describe(log, wildcard, null, text);
        return new LogView(state, text.ToString());
    }

    private static void Describe(IMessageLog log, string subject, ulong? count, StringBuilder text)
    {
        var state = log.GetSubjectState(subject);
        ulong last = log.TryGetLastBySubject(subject, out var record) ? record.Sequence : 0;
        text.AppendLine($"{subject}: count {count} {state} last message {last}");
    }
}
