using Platform.Grains.Streams;
using Platform.Grains.Subjects;

namespace Platform.Grains.Consumers;

/// <summary>
/// What a consumer configuration may ask of its stream, checked before a consumer grain or file exists, with
/// nats-server's errors in nats-server's order. Deliver subjects get one rule beyond nats-server's: none inside the
/// server's own subjects, since a push delivery there would reach the JetStream API, ack or flow-control receivers.
/// </summary>
internal static class ConsumerRules
{
    private static readonly string[] ServerSubjects = ["$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "$JSC.>", "$NRG.>", "$SYS.>"];

    public static ApiError? Check(PlatformStreamConfig stream, PlatformConsumerConfig config)
    {
        if (NameRules.CheckConsumer(config.Name) is { } badName)
            return badName;
        if (config.DurableName is { } durable && NameRules.CheckConsumer(durable) is { } badDurable)
            return badDurable;
        if (config.IsPush && CheckDeliverSubject(stream, config) is { } badDeliver)
            return badDeliver;
        if (config.MaxWaiting < 0)
            return new ApiError(400, 10087, "consumer max waiting needs to be positive");
        if (config.FlowControl && config.IsPush && config.IdleHeartbeat <= 0)
            return new ApiError(400, 10108, "consumer with flow control also needs heartbeats");
        // 2.10: backoff bounds max_deliver only when max_deliver is set (-1 is unlimited).
        if (config.Backoff is { Length: > 0 } backoff && config.MaxDeliver != -1 && config.MaxDeliver <= backoff.Length)
            return ApiError.ConsumerMaxDeliverBackoff;
        if (!string.IsNullOrEmpty(config.FilterSubject) && config.FilterSubjects is { Length: > 0 })
            return new ApiError(400, 10136, "consumer cannot have both FilterSubject and FilterSubjects specified");
        if (CheckFilters(config) is { } badFilters)
            return badFilters;
        if (config.DeliverPolicy == DeliverPolicy.ByStartSequence && config.OptStartSeq == 0)
            return new ApiError(400, 10095, "consumer delivery policy is deliver by start sequence, but optional start sequence is not set");
        if (config.DeliverPolicy == DeliverPolicy.ByStartTime && config.OptStartTime is null)
            return new ApiError(400, 10096, "consumer delivery policy is deliver by start time, but optional start time is not set");
        if (config.IdleHeartbeat > 0 && config.IdleHeartbeat < 100_000_000 && config.IsPush)
            return new ApiError(400, 10104, "consumer idle heartbeat needs to be >= 100ms");
        foreach (var filter in config.Filters)
        {
            if (!InStream(stream, filter))
                return new ApiError(400, 10093, "consumer filter subject is not a valid subset of the interest subjects");
        }
        return CheckPriority(config);
    }

    /// <summary>2.11's priority groups, with nats-server's errors in its order.</summary>
    private static ApiError? CheckPriority(PlatformConsumerConfig config)
    {
        if (config.PriorityPolicy == PriorityPolicy.None)
        {
            if (config.PriorityGroups is { Length: > 0 })
                return new ApiError(400, 10196, "consumer can not have priority groups when policy is none");
            return config.PinnedTtl > 0 ? ApiError.ConsumerPinnedTtlWithoutPolicy : null;
        }
        if (config.IsPush)
            return new ApiError(400, 10178, "priority groups can not be used with push consumers");
        if (config.PriorityGroups is not { Length: > 0 } groups)
            return new ApiError(400, 10159, "Setting PriorityPolicy requires at least one PriorityGroup to be set");
        foreach (var group in groups)
        {
            if (string.IsNullOrEmpty(group))
                return new ApiError(400, 10161, "Group name cannot be an empty string");
            if (!IsGroupName(group))
                return ApiError.ConsumerInvalidGroupName;
        }
        return null;
    }

    /// <summary>nats-server's pattern for a priority group name: up to 16 of A-Z, a-z, 0-9, '-', '_', '/', '='.</summary>
    internal static bool IsGroupName(string group)
    {
        if (group.Length > 16)
            return false;
        foreach (char c in group)
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('/' or '_' or '=' or '-'))
                return false;
        return true;
    }

    private static ApiError? CheckFilters(PlatformConsumerConfig config)
    {
        if (config.FilterSubjects is { } many)
            foreach (var filter in many)
                if (string.IsNullOrEmpty(filter))
                    return ApiError.ConsumerEmptyFilter;
        var filters = config.Filters;
        // An invalid filter is left to the subset check, whose 10093 is what nats-server 2.9 answers for it.
        for (int i = 0; i < filters.Length; i++)
            for (int j = 0; j < filters.Length; j++)
                if (i != j && SubjectMatch.IsValidSubject(filters[i], allowWildcards: true) && SubjectMatch.IsValidSubject(filters[j], allowWildcards: true)
                    && SubjectMatch.Overlaps(filters[i], filters[j]))
                    return ApiError.ConsumerOverlappingFilters;
        return null;
    }

    private static ApiError? CheckDeliverSubject(PlatformStreamConfig stream, PlatformConsumerConfig config)
    {
        var deliver = config.DeliverSubject!;
        if (SubjectMatch.HasWildcards(deliver))
            return new ApiError(400, 10079, "consumer deliver subject has wildcards");
        if (!SubjectMatch.IsValidSubject(deliver, allowWildcards: false))
            return InvalidDeliverSubject;
        if (InStream(stream, deliver))
            return new ApiError(400, 10081, "consumer deliver subject forms a cycle");
        foreach (var server in ServerSubjects)
            if (SubjectMatch.Matches(deliver, server))
                return InvalidDeliverSubject;
        if (config.MaxWaiting != 0)
            return new ApiError(400, 10080, "consumer in push mode can not set max waiting");
        return null;
    }

    private static readonly ApiError InvalidDeliverSubject = new(400, 10112, "invalid push consumer deliver subject");

    private static bool InStream(PlatformStreamConfig stream, string subject)
    {
        if (!SubjectMatch.IsValidSubject(subject, allowWildcards: true))
            return false;
        foreach (var captured in stream.Subjects)
            if (SubjectMatch.IsSubsetOf(subject, captured))
                return true;
        return false;
    }
}
