using Platform.Grains.Subjects;

namespace Platform.Grains.Streams;

/// <summary>
/// The rules of the configuration fields beyond subjects (see <see cref="StreamSubjectRules"/>), with nats-server
/// 2.10's errors: allow_msg_counter (<see cref="MessageCounter"/>), discard_new_per_subject, subject_transform, republish, mirror and sources (<see cref="Sourcing.SourceRules"/>).
/// </summary>
internal static class StreamConfigRules
{
    public static ApiError? Check(PlatformStreamConfig config)
    {
        if (config.AllowMsgCounter && MessageCounter.CheckConfig(config) is { } counter)
            return counter;
        if (config.AllowAtomic && AtomicBatch.CheckConfig(config) is { } atomic)
            return atomic;
        if (config.DiscardNewPerSubject)
        {
            if (config.Discard != DiscardPolicy.New)
                return ApiError.InvalidConfig("discard new per subject requires discard new policy to be set");
            if (config.MaxMsgsPerSubject <= 0)
                return ApiError.InvalidConfig("discard new per subject requires max msgs per subject > 0");
        }
        // An empty destination is no transform at all, as in nats-server.
        if (config.SubjectTransform is { Destination.Length: > 0 } transform
            && SubjectTransform.Create(transform.Source, transform.Destination, out var why) is null)
            return ApiError.StreamCreate($"stream subject transform from '{transform.Source}' to '{transform.Destination}': {why}");
        if (config.RePublish is { } republish)
        {
            foreach (var subject in config.Subjects)
                if (SubjectMatch.Overlaps(republish.Destination, subject))
                    return ApiError.InvalidConfig("stream configuration for republish destination forms a cycle");
            if (republish.Destination.Length > 0 && SubjectTransform.Create(republish.Source, republish.Destination, out _) is null)
                return ApiError.InvalidConfig($"stream configuration for republish with transform from '{republish.Source}' to '{republish.Destination}' not valid");
        }
        if (config.SubjectDeleteMarkerTtl < 0)
            return ApiError.InvalidConfig("subject delete marker TTL must not be negative");
        if (config.SubjectDeleteMarkerTtl is > 0 and < 1_000_000_000)
            return ApiError.InvalidConfig("subject delete marker TTL must be at least 1 second");
        // A mirror keeps its origin's sequences; markers would take sequences of their own.
        if (config.SubjectDeleteMarkerTtl > 0 && config.Mirror is not null)
            return ApiError.InvalidConfig("subject delete markers forbidden on mirrors");
        return Sourcing.SourceRules.Check(config);
    }

    /// <summary>
    /// What an update may not change, with nats-server's errors and in its order (the first refusal is the answer):
    /// the consumer limit, the storage, retention to or from a work queue (its consumers' acks remove messages, so no
    /// other retention can take them over; limits and interest swap, as on nats-server 2.10), the one-way flags (a
    /// sealed stream, or one that denied deletes or purges, was promised to keep its messages), the mirror, and what
    /// stored messages rely on (TTLs, counters, partitions).
    /// </summary>
    public static ApiError? CheckUpdate(PlatformStreamConfig old, PlatformStreamConfig updated)
    {
        if (updated.MaxConsumers != old.MaxConsumers)
            return ApiError.InvalidConfig("stream configuration update can not change MaxConsumers");
        if (updated.Storage != old.Storage)
            return ApiError.InvalidConfig("stream configuration update can not change storage type");
        if (updated.Retention != old.Retention && (updated.Retention == RetentionPolicy.WorkQueue || old.Retention == RetentionPolicy.WorkQueue))
            return ApiError.InvalidConfig("stream configuration update can not change retention policy to/from workqueue");
        if (old.Sealed && !updated.Sealed)
            return ApiError.InvalidConfig("stream configuration update can not unseal a sealed stream");
        if (old.DenyDelete && !updated.DenyDelete)
            return ApiError.InvalidConfig("stream configuration update can not cancel deny message deletes");
        if (old.DenyPurge && !updated.DenyPurge)
            return ApiError.InvalidConfig("stream configuration update can not cancel deny purge");
        if (updated.Mirror is null ? old.Mirror is not null : !updated.Mirror.SameAs(old.Mirror))
            return ApiError.MirrorNotUpdatable;
        if (old.AllowMsgTtl && !updated.AllowMsgTtl)
            return ApiError.InvalidConfig("message TTL status can not be disabled");
        if (updated.AllowMsgCounter != old.AllowMsgCounter)
            return ApiError.InvalidConfig("stream configuration update can not change message counter setting");
        if (StreamKeys.Count(updated) != StreamKeys.Count(old))
            return ApiError.InvalidConfig("stream partitions can not be changed");
        return null;
    }
}
