namespace Platform.Grains.Subjects;

/// <summary>
/// Equality of subjects (and subject tokens) as the UTF-8 bytes they are on the wire, so a dictionary keyed by byte[]
/// is looked up with a span of the read buffer, without decoding or allocating. The hash is seeded per process, so
/// clients cannot pick subjects that collide.
/// </summary>
internal sealed class SubjectKeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static readonly SubjectKeyComparer Instance = new();

    private SubjectKeyComparer()
    {
    }

    public bool Equals(byte[]? x, byte[]? y) => ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

    public int GetHashCode(byte[] key) => GetHashCode((ReadOnlySpan<byte>)key);

    public int GetHashCode(ReadOnlySpan<byte> key)
    {
        var hash = new HashCode();
        hash.AddBytes(key);
        return hash.ToHashCode();
    }

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
}
