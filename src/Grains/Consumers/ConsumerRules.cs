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

    public static ApiError? Check(PlatformStreamConfig stream, PlatformConsumerConfig config, bool clustered)
    {
        if (!clustered && config.NumReplicas > 1)
            return ApiError.ReplicasNotSupported;
        if (NameRules.CheckConsumer(config.Name) is { } badName)
            return badName;
        if (config.DurableName is { } durable && NameRules.CheckConsumer(durable) is { } badDurable)
            return badDurable;
        if (config.IsPush && CheckDeliverSubject(stream, config) is { } badDeliver)
            return badDeliver;
        if (!config.IsPush && CheckPull(config) is { } badPull)
            return badPull;
        if (config.FlowControl && config.IsPush && config.IdleHeartbeat <= 0)
            return new ApiError(400, 10108, "consumer with flow control also needs heartbeats");
        // 2.10: backoff bounds max_deliver only when max_deliver is set (-1 is unlimited).
        if (config.Backoff is { Length: > 0 } backoff && config.MaxDeliver != -1 && config.MaxDeliver <= backoff.Length)
            return ApiError.ConsumerMaxDeliverBackoff;
        if (!string.IsNullOrEmpty(config.FilterSubject) && config.FilterSubjects is { Length: > 0 })
            return new ApiError(400, 10136, "consumer cannot have both FilterSubject and FilterSubjects specified");
        if (CheckFilters(config) is { } badFilters)
            return badFilters;
        if (CheckStart(config) is { } badStart)
            return badStart;
        if (config.IdleHeartbeat > 0 && config.IdleHeartbeat < 100_000_000 && config.IsPush)
            return new ApiError(400, 10104, "consumer idle heartbeat needs to be >= 100ms");
        foreach (var filter in config.Filters)
        {
            if (!InStream(stream, filter))
                return new ApiError(400, 10093, "consumer filter subject is not a valid subset of the interest subjects");
        }
        return CheckPriority(config);
    }

    /// <summary>What only a push consumer may ask for, and the pull request limits, in nats-server's order.</summary>
    private static ApiError? CheckPull(PlatformConsumerConfig config)
    {
        if (config.RateLimitBps > 0)
            return new ApiError(400, 10086, "consumer in pull mode can not have rate limit set");
        if (config.MaxWaiting < 0)
            return new ApiError(400, 10087, "consumer max waiting needs to be positive");
        if (config.IdleHeartbeat > 0)
            return new ApiError(400, 10088, "consumer idle heartbeat requires a push based consumer");
        if (config.FlowControl)
            return new ApiError(400, 10089, "consumer flow control requires a push based consumer");
        if (config.MaxBatch < 0)
            return new ApiError(400, 10114, "consumer max request batch needs to be > 0");
        if (config.MaxExpires is > 0 and < 1_000_000)
            return new ApiError(400, 10115, "consumer max request expires needs to be >= 1ms");
        return null;
    }

    /// <summary>
    /// The start position: a start sequence or time only with the policy that uses it, and that policy only with it
    /// (nats-server's 10094 for each).
    /// </summary>
    private static ApiError? CheckStart(PlatformConsumerConfig config)
    {
        string policy = config.DeliverPolicy switch
        {
            DeliverPolicy.All => "deliver all",
            DeliverPolicy.Last => "deliver last",
            DeliverPolicy.LastPerSubject => "deliver last per subject",
            DeliverPolicy.New => "deliver new",
            DeliverPolicy.ByStartSequence => "deliver by start sequence",
            _ => "deliver by start time",
        };
        bool bySequence = config.DeliverPolicy == DeliverPolicy.ByStartSequence, byTime = config.DeliverPolicy == DeliverPolicy.ByStartTime;
        if (bySequence && config.OptStartSeq == 0)
            return StartPolicy(policy, "optional start sequence is not set");
        if (byTime && config.OptStartTime is null)
            return StartPolicy(policy, "optional start time is not set");
        if (!bySequence && config.OptStartSeq > 0)
            return StartPolicy(policy, "optional start sequence is also set");
        if (!byTime && config.OptStartTime is not null)
            return StartPolicy(policy, "optional start time is also set");
        return null;
    }

    private static ApiError StartPolicy(string policy, string problem) => new(400, 10094, $"consumer delivery policy is {policy}, but {problem}");

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
