using CsCheck;

namespace Platform.Fuzz;

/// <summary>Byte-level mutations of a seed: flips, insertions of bytes the protocol cares about, deletions, cuts.</summary>
internal static class Mutation
{
    private static readonly byte[] Interesting = "\r\n \t.*>{}[]\":,0-9\\"u8.ToArray().Concat(new byte[] { 0, 0x7f, 0x80, 0xc3, 0xff }).ToArray();

    private readonly record struct Edit(int Kind, int Position, byte Value, int Length);

    private static readonly Gen<Edit> EditGen = Gen.Select(Gen.Int[0, 4], Gen.Int[0, int.MaxValue], Gen.OneOf(Gen.Byte, Gen.OneOf(Interesting)), Gen.Int[1, 8],
        (kind, position, value, length) => new Edit(kind, position, value, length));

    /// <summary>A seed with up to <paramref name="maxEdits"/> edits applied.</summary>
    public static Gen<byte[]> Of(Gen<byte[]> seeds, int maxEdits = 6)
        => Gen.Select(seeds, EditGen.Array[0, maxEdits], Apply);

    private static byte[] Apply(byte[] seed, Edit[] edits)
    {
        var bytes = new List<byte>(seed);
        foreach (var edit in edits)
        {
            int at = bytes.Count == 0 ? 0 : edit.Position % (bytes.Count + 1);
            switch (edit.Kind)
            {
                case 0 when at < bytes.Count:
                    bytes[at] = edit.Value;
                    break;
                case 1:
                    bytes.InsertRange(at, Enumerable.Repeat(edit.Value, edit.Length));
                    break;
                case 2 when at < bytes.Count:
                    bytes.RemoveRange(at, Math.Min(edit.Length, bytes.Count - at));
                    break;
                case 3:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                default:
                    // Duplicate a slice: repeats ops and lines.
                    int length = Math.Min(edit.Length * 8, bytes.Count - at);
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
            }
        }
        return [.. bytes];
    }
}
