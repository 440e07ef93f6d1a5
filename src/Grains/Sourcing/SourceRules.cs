using Platform.Grains.Streams;
using Platform.Grains.Subjects;

namespace Platform.Grains.Sourcing;

/// <summary>
/// The rules of a stream's <c>mirror</c> and <c>sources</c> that need no other stream, in nats-server 2.10's order and
/// with its errors; the cycle check, which needs the other streams, is <see cref="SourceCycles"/>. A source in another
/// JetStream domain (<c>external</c>) is refused by name: the silo is one domain and has no other to reach.
/// </summary>
internal static class SourceRules
{
    public static ApiError? Check(PlatformStreamConfig config)
    {
        if (config.Mirror is { } mirror)
        {
            if (config.FirstSeq > 0)
                return ApiError.MirrorWithFirstSeq;
            if (config.Subjects.Length > 0)
                return ApiError.MirrorWithSubjects;
            if (config.Sources is { Length: > 0 })
                return ApiError.MirrorWithSources;
            if (!string.IsNullOrEmpty(mirror.FilterSubject) && mirror.SubjectTransforms is { Length: > 0 })
                return ApiError.MirrorMultipleFilters;
            if (CheckFilters(mirror, ApiError.MirrorInvalidSubjectFilter, ApiError.MirrorInvalidTransform, ApiError.MirrorOverlappingFilters) is { } bad)
                return bad;
            if (mirror.External is not null)
                return External("mirror", mirror);
            if (NameRules.CheckStream(mirror.Name) is not null)
                return ApiError.MirrorInvalidStreamName;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in config.Sources ?? [])
        {
            if (NameRules.CheckStream(source.Name) is not null)
                return ApiError.SourceInvalidStreamName;
            if (!seen.Add(source.IndexName))
                return ApiError.SourceDuplicate;
            if (source.External is not null)
                return External("source", source);
            if (!string.IsNullOrEmpty(source.FilterSubject) && source.SubjectTransforms is { Length: > 0 })
                return ApiError.SourceMultipleFilters;
            if (CheckFilters(source, ApiError.SourceInvalidSubjectFilter, ApiError.SourceInvalidTransform, ApiError.SourceOverlappingFilters) is { } bad)
                return bad;
        }
        return null;
    }

    private static ApiError? CheckFilters(StreamSourceConfig source, ApiError invalidFilter, ApiError invalidTransform, ApiError overlapping)
    {
        if (!string.IsNullOrEmpty(source.FilterSubject) && !SubjectMatch.IsValidSubject(source.FilterSubject, allowWildcards: true))
            return invalidFilter;
        var transforms = source.SubjectTransforms ?? [];
        foreach (var t in transforms)
        {
            if (!string.IsNullOrEmpty(t.Source) && !SubjectMatch.IsValidSubject(t.Source, allowWildcards: true))
                return invalidFilter;
            if (!string.IsNullOrEmpty(t.Destination) && SubjectTransform.Create(t.Source, t.Destination, out _) is null)
                return invalidTransform;
        }
        for (int i = 0; i < transforms.Length; i++)
            for (int j = 0; j < transforms.Length; j++)
                if (i != j && SubjectMatch.Overlaps(Filter(transforms[i]), Filter(transforms[j])))
                    return overlapping;
        return null;
    }

    private static string Filter(SubjectTransformConfig t) => string.IsNullOrEmpty(t.Source) ? ">" : t.Source;

    private static ApiError External(string kind, StreamSourceConfig source)
        => ApiError.InvalidConfig($"stream {kind} '{source.Name}' with external api prefix '{source.External!.Api}' is not supported: the silo has one JetStream domain");
}
