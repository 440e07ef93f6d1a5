using ZoneTree;

namespace Platform.Grains.Storage;

/// <summary>
/// Sets aside the part lists (<c>&lt;id&gt;.multi</c>) of disk segments that a merge wrote but a kill -9 kept out of the
/// tree's metadata. The next open hands out those ids again, and ZoneTree 2.1.3 appends a new part list to an existing
/// file of that id instead of replacing it (its other segment files are replaced): once the metadata records that
/// segment, the log no longer opens ("Multipart metadata envelope payload length is invalid", seen after a kill -9 in
/// CI; reproduced by <c>LeftoverSegmentTests</c>).
/// </summary>
internal static class LeftoverSegments
{
    private const string Extension = ".multi";
    internal const string QuarantineDirectoryName = "quarantine";

    /// <summary>
    /// Moves every part list with an id above all the segments the opened tree refers to into
    /// <c>quarantine/</c> (never deleted: unknown data is for an operator to look at). Call after the open, before any
    /// merge can start. Returns how many files were moved.
    /// </summary>
    public static int Quarantine(string directory, IZoneTree<ulong, byte[]> tree)
    {
        var maintenance = tree.Maintenance;
        long highest = Math.Max(maintenance.MutableSegment.SegmentId, maintenance.DiskSegment.SegmentId);
        foreach (var segment in maintenance.ReadOnlySegments)
            highest = Math.Max(highest, segment.SegmentId);
        foreach (var segment in maintenance.BottomSegments)
            highest = Math.Max(highest, segment.SegmentId);

        int moved = 0;
        foreach (var path in Directory.EnumerateFiles(directory, "*" + Extension))
        {
            var name = Path.GetFileName(path);
            if (!long.TryParse(name.AsSpan(0, name.Length - Extension.Length), out var id) || id <= highest)
                continue;
            var quarantine = Directory.CreateDirectory(Path.Combine(directory, QuarantineDirectoryName)).FullName;
            var target = Path.Combine(quarantine, name);
            if (File.Exists(target))
                target = Path.Combine(quarantine, $"{name}.{DateTime.UtcNow:yyyyMMddTHHmmssfff}");
            File.Move(path, target);
            moved++;
        }
        return moved;
    }
}
