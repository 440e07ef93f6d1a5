using Platform.Grains.Storage;

namespace Platform.StorageTests;

/// <summary>Names become one directory under their parent, whatever they hold, and different names stay apart.</summary>
public class StorePathsTests
{
    private static readonly string[] Hostile =
    [
        "..", ".", "/tmp/x", "../..", "../../OTHER", "..\\..\\OTHER", "a/../../b", "C:\\Windows", "~", "~root",
        "a\0b", "\0", "a\nb", "%2E%2E", "%", "con", "nul.txt", " ", "日本", "sección",
        new string('a', 255), new string('/', 255), new string('é', 127), new string('.', 300),
    ];

    [Fact]
    public void Every_name_maps_to_one_segment_directly_under_the_parent()
    {
        using var temp = new TempDirectory();
        foreach (var name in Hostile)
        {
            var path = StorePaths.Child(temp.Path, name);
            Assert.Equal(temp.Path, Path.GetDirectoryName(path));
            var segment = Path.GetFileName(path);
            Assert.InRange(segment.Length, 1, 200);
            Assert.DoesNotContain('/', segment);
            Assert.DoesNotContain('\\', segment);
            Assert.DoesNotContain('\0', segment);
            Assert.NotEqual("..", segment);
            Assert.NotEqual(".", segment);
            // The file system takes it: the directory can be made and a file written in it.
            Directory.CreateDirectory(path);
            File.WriteAllText(Path.Combine(path, "state.json"), name);
        }
        Assert.Equal(Hostile.Distinct().Count(), Directory.GetDirectories(temp.Path).Length);
    }

    [Fact]
    public void Different_names_never_share_a_directory()
    {
        var names = new List<string>(Hostile);
        // Names that differ only past the kept prefix of a long segment, or only by an escaped character.
        names.Add(new string('/', 100) + "x");
        names.Add(new string('/', 100) + "y");
        names.Add("a%2Fb");
        names.Add("a/b");
        names.Add("a~" + new string('0', 32));
        var segments = names.Distinct().Select(StorePaths.Segment).ToList();
        Assert.Equal(segments.Count, segments.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData("ORDERS")]
    [InlineData("KV_config")]
    [InlineData("OBJ_files")]
    [InlineData("my-stream_2")]
    public void Ordinary_names_keep_their_own_directory_name(string name)
        => Assert.Equal(name, StorePaths.Segment(name));

    [Fact]
    public void An_empty_name_has_no_directory()
        => Assert.Throws<ArgumentException>(() => StorePaths.Segment(""));
}
