using Platform.Grains.Subjects;

namespace Platform.Grains.Streams;

/// <summary>
/// The subjects one stream may capture, with nats-server's errors (all 10052): valid subjects, no duplicates, none
/// inside the JetStream API (2.9's rule, so a stream never swallows API requests), no two of its own that overlap
/// (each message would be stored once per subject), and, as current nats-server requires, no_ack for a stream that
/// captures everything or overlaps the server's own $JS / $JSC / $NRG / $SYS subjects: its pub acks would otherwise
/// answer API requests and acks alongside the server.
/// </summary>
internal static class StreamSubjectRules
{
    private const string Api = "$JS.API.>";
    private static readonly string[] ServerSubjects = ["$JS.>", "$JSC.>", "$NRG.>"];

    public static ApiError? Check(PlatformStreamConfig config)
    {
        var subjects = config.Subjects;
        for (int i = 0; i < subjects.Length; i++)
        {
            var subject = subjects[i];
            if (!SubjectMatch.IsValidSubject(subject, allowWildcards: true))
                return ApiError.InvalidConfig("invalid subject");
            for (int j = 0; j < i; j++)
                if (subjects[j] == subject)
                    return ApiError.InvalidConfig("duplicate subjects detected");
            if (SubjectMatch.IsSubsetOf(subject, Api))
                return ApiError.InvalidConfig("subjects overlap with jetstream api");
            if (!config.NoAck && OverlapsServerSubjects(subject) is { } refusal)
                return refusal;
        }
        for (int i = 0; i < subjects.Length; i++)
            for (int j = i + 1; j < subjects.Length; j++)
                if (SubjectMatch.Overlaps(subjects[i], subjects[j]))
                    return ApiError.InvalidConfig($"subject \"{subjects[i]}\" overlaps with \"{subjects[j]}\"");
        return null;
    }

    private static ApiError? OverlapsServerSubjects(string subject)
    {
        if (SubjectMatch.IsFullWildcard(subject))
            return ApiError.InvalidConfig("capturing all subjects requires no-ack to be true");
        foreach (var server in ServerSubjects)
        {
            // Advisories are the exception nats-server makes: streams on $JS.EVENT.> predate the rule.
            if (SubjectMatch.Overlaps(subject, server) && !SubjectMatch.IsSubsetOf(subject, "$JS.EVENT.>"))
                return ApiError.InvalidConfig("subjects that overlap with jetstream api require no-ack to be true");
        }
        if (SubjectMatch.Overlaps(subject, "$SYS.>") && !SubjectMatch.IsSubsetOf(subject, "$SYS.ACCOUNT.>"))
            return ApiError.InvalidConfig("subjects that overlap with system api require no-ack to be true");
        return null;
    }
}
