using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Platform.Grains.Storage;

/// <summary>
/// How a stream or consumer name becomes a directory: one path segment that cannot leave its parent whatever the
/// name holds. ASCII letters, digits, '-' and '_' stand for themselves, so ordinary names keep readable directories;
/// every other UTF-8 byte is written as %XX, so '/', '\', '.', NUL and control characters never reach the file system
/// as such. A segment longer than <see cref="MaxSegment"/> (names of up to 255 bytes may triple when escaped, and
/// file systems allow 255 bytes per segment) keeps its first escaped bytes and ends in '~' and a hash of the whole
/// name; '~' is escaped in short segments, so the two forms never collide. Nothing decodes a segment: the name is read
/// back from the file inside the directory.
/// </summary>
public static class StorePaths
{
    private const int MaxSegment = 200;
    private const int KeptWhenHashed = 160;

    public static string Segment(string name)
    {
        if (string.IsNullOrEmpty(name))
            throw new ArgumentException("A stored name cannot be empty.", nameof(name));
        var utf8 = Encoding.UTF8.GetBytes(name);
        var segment = Escape(utf8, int.MaxValue);
        if (segment.Length <= MaxSegment)
            return segment;
        return Escape(utf8, KeptWhenHashed) + "~" + Convert.ToHexString(SHA256.HashData(utf8), 0, 16);
    }

    /// <summary>The directory for <paramref name="name"/> directly under <paramref name="parent"/>, checked to be there.</summary>
    public static string Child(string parent, string name)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(parent));
        var path = Path.GetFullPath(Path.Combine(root, Segment(name)));
        if (!string.Equals(Path.GetDirectoryName(path), root, StringComparison.Ordinal))
            throw new ArgumentException($"The name does not map to a directory under {root}.", nameof(name));
        return path;
    }

    /// <summary>Escapes whole bytes while they fit in <paramref name="limit"/> characters.</summary>
    private static string Escape(ReadOnlySpan<byte> utf8, int limit)
    {
        var segment = new StringBuilder(Math.Min(limit, utf8.Length * 3));
        foreach (var b in utf8)
        {
            bool plain = b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_';
            if (segment.Length + (plain ? 1 : 3) > limit)
                break;
            if (plain)
                segment.Append((char)b);
            else
                segment.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return segment.ToString();
    }
}
