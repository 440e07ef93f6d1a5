using System.Text;
using Platform.Grains.Subjects;

namespace Platform.StorageTests;

public class SubjectMatchTests
{
    [Theory]
    [InlineData("foo", "foo", true)]
    [InlineData("foo", "bar", false)]
    [InlineData("foo.bar", "foo.bar", true)]
    [InlineData("foo.bar", "foo", false)]
    [InlineData("foo", "foo.bar", false)]
    [InlineData("foo.bar", "foo.*", true)]
    [InlineData("foo.bar", "*.bar", true)]
    [InlineData("foo.bar", "*.*", true)]
    [InlineData("foo.bar", "*", false)]
    [InlineData("foo", "*", true)]
    [InlineData("foo.bar.baz", "foo.*", false)]
    [InlineData("foo.bar.baz", "foo.*.baz", true)]
    [InlineData("foo.bar.baz", "foo.>", true)]
    [InlineData("foo.bar", "foo.>", true)]
    [InlineData("foo", "foo.>", false)]
    [InlineData("foo", ">", true)]
    [InlineData("foo.bar.baz", ">", true)]
    [InlineData("foo.bar.baz", "*.>", true)]
    [InlineData("foo", "*.>", false)]
    [InlineData("foo.bar", "*.*.>", false)]
    [InlineData("foo.bar.baz", "*.*.>", true)]
    [InlineData("foo.bar", "fo*.bar", false)]
    [InlineData("fo*.bar", "fo*.bar", true)]
    [InlineData("foo.>", "foo.>", true)]
    [InlineData("foobar", "foo", false)]
    [InlineData("foo", "foobar", false)]
    [InlineData("a.b.c.d", "a.*.c.*", true)]
    [InlineData("a.b.c", "a.*.c.*", false)]
    [InlineData("", "foo", false)]
    [InlineData("foo", "", false)]
    public void Matches_table(string subject, string pattern, bool expected)
    {
        Assert.Equal(expected, SubjectMatch.Matches(subject, pattern));
        Assert.Equal(expected, SubjectMatch.Matches(Encoding.UTF8.GetBytes(subject), Encoding.UTF8.GetBytes(pattern)));
        Assert.Equal(expected, SubjectMatch.Matches(Encoding.UTF8.GetBytes(subject), pattern));
    }

    [Fact]
    public void Matches_agrees_with_a_token_matcher_on_random_subjects()
    {
        var random = new Random(1234);
        for (int i = 0; i < 20_000; i++)
        {
            string subject = RandomSubject(random);
            string pattern = RandomPattern(random);
            bool expected = ReferenceMatch(subject.Split('.'), pattern.Split('.'));
            Assert.True(expected == SubjectMatch.Matches(subject, pattern), $"'{subject}' vs '{pattern}': expected {expected}");
            Assert.Equal(expected, SubjectMatch.Matches(Encoding.UTF8.GetBytes(subject), Encoding.UTF8.GetBytes(pattern)));
        }
    }

    [Fact]
    public void Long_patterns_match_without_the_stack_buffer()
    {
        string subject = string.Join('.', Enumerable.Range(0, 200).Select(i => "token" + i));
        Assert.True(SubjectMatch.Matches(Encoding.UTF8.GetBytes(subject), subject));
        Assert.False(SubjectMatch.Matches(Encoding.UTF8.GetBytes(subject), subject + ".x"));
    }

    [Theory]
    [InlineData("foo", false, true)]
    [InlineData("foo.bar", false, true)]
    [InlineData("foo.*", false, false)]
    [InlineData("foo.>", false, false)]
    [InlineData("foo.*", true, true)]
    [InlineData("foo.>", true, true)]
    [InlineData(">", true, true)]
    [InlineData("*", true, true)]
    [InlineData("foo.>.bar", true, false)]
    [InlineData("foo..bar", true, false)]
    [InlineData(".foo", true, false)]
    [InlineData("foo.", true, false)]
    [InlineData("", true, false)]
    [InlineData("foo bar", true, false)]
    [InlineData("foo\tbar", true, false)]
    [InlineData("foo.b\nr", true, false)]
    [InlineData("fo*.b>r", false, true)]
    [InlineData("$JS.API.STREAM.INFO.ORDERS", false, true)]
    public void IsValidSubject_table(string subject, bool allowWildcards, bool expected) =>
        Assert.Equal(expected, SubjectMatch.IsValidSubject(subject, allowWildcards));

    [Theory]
    [InlineData("foo", "foo", true)]
    [InlineData("foo", "bar", false)]
    [InlineData("foo.*", "foo.bar", true)]
    [InlineData("foo.*", "*.bar", true)]
    [InlineData("foo.*", "bar.*", false)]
    [InlineData("foo.>", "foo", false)]
    [InlineData("foo.>", "foo.bar.baz", true)]
    [InlineData("foo.>", "*.bar", true)]
    [InlineData(">", "anything.at.all", true)]
    [InlineData("foo.*", "foo.*.*", false)]
    [InlineData("foo.*.>", "foo.>", true)]
    [InlineData("foo.*.>", "foo.bar", false)]
    [InlineData("*.*", "a.>", true)]
    [InlineData("a.b.c", "a.b", false)]
    [InlineData("orders.*", "orders.new.>", false)]
    public void Overlaps_table(string a, string b, bool expected)
    {
        Assert.Equal(expected, SubjectMatch.Overlaps(a, b));
        Assert.Equal(expected, SubjectMatch.Overlaps(b, a));
    }

    [Theory]
    [InlineData("a.b", "a.b", true)]
    [InlineData("a.b", "a.*", true)]
    [InlineData("a.*", "a.b", false)]
    [InlineData("a.*", "a.*", true)]
    [InlineData("a.*", "a.>", true)]
    [InlineData("a.>", "a.*", false)]
    [InlineData("a.>", "a.>", true)]
    [InlineData("a.b.c", "a.>", true)]
    [InlineData("a", "a.>", false)]
    [InlineData(">", "$JS.API.>", false)]
    [InlineData("$JS.>", "$JS.API.>", false)]
    [InlineData("$JS.API.>", "$JS.API.>", true)]
    [InlineData("$JS.API.STREAM.*", "$JS.API.>", true)]
    [InlineData("$JS.*.INFO", "$JS.API.>", false)]
    [InlineData("a.b", "a.b.c", false)]
    [InlineData("a.b.c", "a.b", false)]
    [InlineData("a.b", ">", true)]
    public void IsSubsetOf_table(string pattern, string of, bool expected)
        => Assert.Equal(expected, SubjectMatch.IsSubsetOf(pattern, of));

    [Fact]
    public void IsSubsetOf_agrees_with_matching_every_subject_of_a_small_alphabet()
    {
        string[] tokens = ["a", "b", "*", ">"];
        var patterns = new List<string>();
        foreach (var t1 in tokens)
        {
            patterns.Add(t1);
            foreach (var t2 in tokens)
                if (t1 != ">")
                    patterns.Add(t1 + "." + t2);
        }
        // Every subject of one to three tokens from a, b and c; 'c' stands for any token no pattern names.
        var subjects = new List<string>();
        string[] letters = ["a", "b", "c"];
        foreach (var x in letters)
        {
            subjects.Add(x);
            foreach (var y in letters)
            {
                subjects.Add(x + "." + y);
                foreach (var z in letters)
                    subjects.Add(x + "." + y + "." + z);
            }
        }
        foreach (var pattern in patterns)
        {
            foreach (var of in patterns)
            {
                bool expected = subjects.All(s => !SubjectMatch.Matches(s, pattern) || SubjectMatch.Matches(s, of));
                Assert.True(expected == SubjectMatch.IsSubsetOf(pattern, of), $"'{pattern}' within '{of}': expected {expected}");
            }
        }
    }

    [Fact]
    public void Overlaps_agrees_with_searching_for_a_common_subject()
    {
        // Patterns of at most 4 tokens over {a,b,c}: if they share a subject they share one of at most 4 tokens over
        // {a,b,c,z}, where z stands for any token neither pattern names.
        var universe = new List<string>();
        string[] tokens = ["a", "b", "c", "z"];
        var layer = new List<string>(tokens);
        for (int length = 1; length <= 4; length++)
        {
            universe.AddRange(layer);
            layer = layer.SelectMany(prefix => tokens.Select(t => prefix + "." + t)).ToList();
        }

        var random = new Random(42);
        int overlapping = 0;
        for (int i = 0; i < 3_000; i++)
        {
            string a = RandomPattern(random, maxTokens: 4);
            string b = RandomPattern(random, maxTokens: 4);
            bool expected = universe.Any(s => ReferenceMatch(s.Split('.'), a.Split('.')) && ReferenceMatch(s.Split('.'), b.Split('.')));
            overlapping += expected ? 1 : 0;
            Assert.True(expected == SubjectMatch.Overlaps(a, b), $"'{a}' vs '{b}': expected {expected}");
        }
        Assert.InRange(overlapping, 300, 2_700);
    }

    [Theory]
    [InlineData("foo", false)]
    [InlineData("foo.*", true)]
    [InlineData(">", true)]
    [InlineData("a.>", true)]
    [InlineData("a*.b>", false)]
    public void HasWildcards_table(string pattern, bool expected) => Assert.Equal(expected, SubjectMatch.HasWildcards(pattern));

    private static bool ReferenceMatch(ReadOnlySpan<string> subject, ReadOnlySpan<string> pattern)
    {
        if (pattern.IsEmpty)
            return subject.IsEmpty;
        if (pattern[0] == ">")
            return pattern.Length == 1 && !subject.IsEmpty;
        if (subject.IsEmpty)
            return false;
        return (pattern[0] == "*" || pattern[0] == subject[0]) && ReferenceMatch(subject[1..], pattern[1..]);
    }

    private static string RandomSubject(Random random)
    {
        int count = random.Next(1, 6);
        var parts = new string[count];
        for (int i = 0; i < count; i++)
            parts[i] = ((char)('a' + random.Next(3))).ToString();
        return string.Join('.', parts);
    }

    private static string RandomPattern(Random random, int maxTokens = 5)
    {
        int count = random.Next(1, maxTokens + 1);
        var parts = new string[count];
        for (int i = 0; i < count; i++)
        {
            int pick = random.Next(6);
            parts[i] = pick < 3 ? ((char)('a' + pick)).ToString() : pick < 5 ? "*" : i == count - 1 ? ">" : "*";
        }
        return string.Join('.', parts);
    }
}
