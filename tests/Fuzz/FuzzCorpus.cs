namespace Platform.Fuzz;

/// <summary>
/// The committed seed corpus (tests/Fuzz/corpus, copied beside the test assembly): protocol streams and JSON API
/// bodies that the generators mutate, and that each fuzz test also replays as they are. A case the fuzzer found is
/// kept here once fixed.
/// </summary>
internal static class FuzzCorpus
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "fuzz-corpus");

    public static byte[][] Protocol { get; } = Load("protocol");

    public static byte[][] JsonApi { get; } = Load("jsapi");

    /// <summary>Protocol streams the differential test found answered differently, replayed before its random cases.</summary>
    public static byte[][] ProtocolDifferential { get; } = Load("protocol-differential");

    private static byte[][] Load(string folder)
    {
        var path = Path.Combine(Root, folder);
        var files = Directory.GetFiles(path).Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0)
            throw new InvalidOperationException($"the fuzz corpus {path} is empty");
        return files.Select(File.ReadAllBytes).ToArray();
    }
}
