namespace Platform.Grains.Storage;

/// <summary>What a log holds, as stream info reports it; part of the grain contracts, so clients have it too.</summary>
[GenerateSerializer, Immutable]
public readonly record struct LogState(
    [property: Id(0)] ulong FirstSequence,
    [property: Id(1)] ulong LastSequence,
    [property: Id(2)] ulong Messages,
    [property: Id(3)] ulong Bytes,
    [property: Id(4)] long FirstTimestampNanos,
    [property: Id(5)] long LastTimestampNanos,
    [property: Id(6)] int NumSubjects,
    [property: Id(7)] int NumDeleted);

[GenerateSerializer, Immutable]
public readonly record struct SubjectState([property: Id(0)] ulong Count, [property: Id(1)] ulong First, [property: Id(2)] ulong Last);
