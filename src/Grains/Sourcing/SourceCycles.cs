using Platform.Grains.Streams;
using Platform.Grains.Subjects;

namespace Platform.Grains.Sourcing;

/// <summary>
/// nats-server's cycle check of a stream's mirror and sources over the streams that exist: following them from the
/// new configuration must not come back to a stream already visited, through a source whose filter reaches that
/// stream's subjects, or through a mirror at all. Otherwise messages would be copied around forever.
/// </summary>
internal static class SourceCycles
{
    public static readonly ApiError Detected = ApiError.InvalidConfig("detected cycle");

    public static ApiError? Check(PlatformStreamConfig config, Func<string, PlatformStreamConfig?> find)
    {
        var toVisit = new Queue<PlatformStreamConfig>();
        toVisit.Enqueue(config);
        var visited = new HashSet<string>(StringComparer.Ordinal);
        while (toVisit.TryDequeue(out var current))
        {
            visited.Add(current.Name);
            foreach (var source in current.Sources ?? [])
            {
                if (visited.Contains(source.Name))
                {
                    if (Overlaps(current.Subjects, source.FilterSubject))
                        return Detected;
                }
                else if (Other(source.Name, config, find) is { } next)
                {
                    toVisit.Enqueue(next);
                }
            }
            if (current.Mirror is { } mirror)
            {
                if (visited.Contains(mirror.Name))
                    return Detected;
                if (Other(mirror.Name, config, find) is { } next)
                    toVisit.Enqueue(next);
            }
        }
        return null;
    }

    /// <summary>The stream as it is now, or as it is about to be when it is the one being created or updated.</summary>
    private static PlatformStreamConfig? Other(string name, PlatformStreamConfig config, Func<string, PlatformStreamConfig?> find)
        => name == config.Name ? config : find(name);

    private static bool Overlaps(string[] subjects, string? filter)
    {
        if (string.IsNullOrEmpty(filter))
            return true;
        foreach (var subject in subjects)
            if (SubjectMatch.Overlaps(subject, filter))
                return true;
        return false;
    }
}
