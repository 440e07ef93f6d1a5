using System.Text;
using Platform.Grains.Subjects;

namespace Platform.Grains.Streams;

/// <summary>
/// Which subjects one partition of a stream stores: a valid literal subject that one of the stream's subjects matches
/// (or its subject_transform's destination) and that hashes to this partition. The gateway only routes such publishes here; Orleans clients append directly,
/// so the grain checks every message itself. The patterns are kept as UTF-8, so the check allocates nothing.
/// </summary>
internal sealed class StreamSubjects(PlatformStreamConfig config, int partition)
{
    public static readonly ApiError NotInStream = new(400, 10003, "subject does not belong to the stream");
    public static readonly ApiError WrongPartition = new(400, 10003, "subject belongs to another partition of the stream");

    private readonly byte[][] _patterns = Patterns(config);
    private readonly int _partitions = StreamKeys.Count(config);

    public ApiError? Check(ReadOnlySpan<byte> subject)
    {
        if (!SubjectMatch.IsValidLiteral(subject) || !MatchesAny(subject))
            return NotInStream;
        return StreamKeys.PartitionOf(subject, _partitions) == partition ? null : WrongPartition;
    }

    /// <summary>The stream's subjects and, with a subject_transform, the subjects it stores captures under.</summary>
    private static byte[][] Patterns(PlatformStreamConfig config)
    {
        var patterns = new List<byte[]>();
        foreach (var subject in config.Subjects)
            patterns.Add(Encoding.UTF8.GetBytes(subject));
        if (config.SubjectTransform is { Destination.Length: > 0 } t && SubjectTransform.Create(t.Source, t.Destination, out _) is { } transform)
            patterns.Add(Encoding.UTF8.GetBytes(transform.DestinationPattern()));
        return [.. patterns];
    }

    private bool MatchesAny(ReadOnlySpan<byte> subject)
    {
        foreach (var pattern in _patterns)
            if (SubjectMatch.Matches(subject, pattern))
                return true;
        return false;
    }
}
