using System.Text;
using Platform.Grains.Streams;
using Platform.Grains.Subjects;

namespace Platform.Grains.Sourcing;

/// <summary>
/// One mirror or source of a stream while it runs: what it takes from its origin (filters and transforms), the next
/// origin sequence to read, and what stream info reports of it (lag, last contact, the error that stops it).
/// </summary>
internal sealed class SourceCursor
{
    private readonly (SubjectTransform? Transform, string Filter)[] _transforms;

    private SourceCursor(StreamSourceConfig config)
    {
        Config = config;
        IndexName = config.IndexName;
        IndexNameBytes = Encoding.UTF8.GetBytes(IndexName);
        var transforms = config.SubjectTransforms ?? [];
        _transforms = new (SubjectTransform?, string)[transforms.Length];
        for (int i = 0; i < transforms.Length; i++)
        {
            var filter = string.IsNullOrEmpty(transforms[i].Source) ? ">" : transforms[i].Source;
            // A transform without a destination only filters; validation refused any that does not parse.
            var transform = string.IsNullOrEmpty(transforms[i].Destination) ? null : SubjectTransform.Create(filter, transforms[i].Destination, out _);
            _transforms[i] = (transform, filter);
        }
        Filters = Read(config);
    }

    public StreamSourceConfig Config { get; }
    public string IndexName { get; }
    public byte[] IndexNameBytes { get; }

    /// <summary>The origin's subjects to read (none: all), as <see cref="IStreamGrain.Read"/> takes them.</summary>
    public string[] Filters { get; }

    /// <summary>The next origin sequence to copy; 0 until known (from the stream's own messages or the configured start).</summary>
    public ulong Next { get; set; }

    public ulong Lag { get; private set; }
    public DateTime? LastContact { get; private set; }
    public ApiError? Error { get; private set; }

    /// <summary>A new cursor, continuing where <paramref name="previous"/> (the same source before an update) was.</summary>
    public static SourceCursor For(StreamSourceConfig config, SourceCursor? previous)
        => new(config) { Next = previous?.Next ?? 0, Lag = previous?.Lag ?? 0, LastContact = previous?.LastContact };

    public void Contacted(ulong lag)
    {
        Lag = lag;
        LastContact = DateTime.UtcNow;
        Error = null;
    }

    public void Failed(ApiError error) => Error = error;

    public StreamSourceInfo Info() => new(Config, Lag, LastContact is { } last ? DateTime.UtcNow - last : null, Error);

    /// <summary>The subject a copied message is stored under: the first transform that matches maps it; otherwise it stays.</summary>
    public ReadOnlySpan<byte> MapSubject(ReadOnlySpan<byte> subject)
    {
        foreach (var (transform, filter) in _transforms)
        {
            if (!SubjectMatch.Matches(subject, filter))
                continue;
            if (transform is null)
                return subject;
            var destination = new byte[transform.MaxLength(subject.Length)];
            transform.TryTransform(subject, destination, out int written);
            return destination.AsSpan(0, written);
        }
        return subject;
    }

    private static string[] Read(StreamSourceConfig config)
    {
        if (!string.IsNullOrEmpty(config.FilterSubject))
            return config.FilterSubject == ">" ? [] : [config.FilterSubject];
        var filters = new List<string>();
        foreach (var t in config.SubjectTransforms ?? [])
        {
            var filter = string.IsNullOrEmpty(t.Source) ? ">" : t.Source;
            if (filter == ">")
                return [];
            filters.Add(filter);
        }
        return [.. filters];
    }
}
