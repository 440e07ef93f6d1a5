using System.Text;
using Platform.Gateway.Routing;

namespace Platform.UnitTests.Routing;

public class SubjectRouterTests
{
    private static readonly string[] Alphabet = ["a", "b", "c"];
    private static int _nextSid;

    private static Subscription Sub(string subject, string? queue = null)
        => new(subject, queue, Encoding.ASCII.GetBytes(Interlocked.Increment(ref _nextSid).ToString()), null, null);

    private static string Describe(Subscription sub)
        => $"{sub.Subject}{(sub.Queue is null ? "" : "[" + sub.Queue + "]")}#{Encoding.ASCII.GetString(sub.Sid)}";

    private static string Describe(IEnumerable<Subscription> subs) => "{" + string.Join(", ", subs.Select(Describe).Order()) + "}";

    /// <summary>The reference matcher: token by token, '*' one token, '&gt;' one or more.</summary>
    private static bool BruteForceMatches(string pattern, string subject)
    {
        var p = pattern.Split('.');
        var s = subject.Split('.');
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] == ">")
                return s.Length > i;
            if (i >= s.Length || (p[i] != "*" && p[i] != s[i]))
                return false;
        }
        return p.Length == s.Length;
    }

    /// <summary>Every plain match once, and one entry per queue name holding exactly its matching members.</summary>
    private static void AssertMatch(SubjectRouter router, IReadOnlyCollection<Subscription> all, string subject, string context = "")
    {
        var match = router.Match(Encoding.Latin1.GetBytes(subject));
        var matching = all.Where(s => BruteForceMatches(s.Subject, subject)).ToList();
        var expectedPlain = matching.Where(s => s.Queue is null).ToHashSet();
        var expectedGroups = matching.Where(s => s.Queue is not null).GroupBy(s => s.Queue!).ToDictionary(g => g.Key, g => g.ToHashSet());

        string Where() => $"{context} subject '{subject}'";
        if (match.Plain.Length != expectedPlain.Count || !expectedPlain.SetEquals(match.Plain))
            Assert.Fail($"{Where()}: plain expected {Describe(expectedPlain)}, got {Describe(match.Plain)}");

        var groupNames = match.QueueGroups.Select(g => g.Length == 0 ? "<empty>" : g[0].Queue ?? "<plain>").Order().ToList();
        if (!groupNames.SequenceEqual(expectedGroups.Keys.Order()))
            Assert.Fail($"{Where()}: queue groups expected [{string.Join(", ", expectedGroups.Keys.Order())}], got [{string.Join(", ", groupNames)}]: " +
                string.Join(" ", match.QueueGroups.Select(g => Describe(g))));
        foreach (var group in match.QueueGroups)
        {
            var expected = expectedGroups[group[0].Queue!];
            if (group.Length != expected.Count || !expected.SetEquals(group))
                Assert.Fail($"{Where()}: group {group[0].Queue} expected {Describe(expected)}, got {Describe(group)}");
        }
        Assert.Equal(!matching.Any(), match.IsEmpty);
    }

    private static IEnumerable<string> AllSubjects(int maxTokens)
    {
        var level = Alphabet.ToList();
        for (int tokens = 1; tokens <= maxTokens; tokens++)
        {
            foreach (var subject in level)
                yield return subject;
            level = level.SelectMany(prefix => Alphabet.Select(t => prefix + "." + t)).ToList();
        }
    }

    private static string RandomPattern(Random rng)
    {
        int tokens = rng.Next(1, 6);
        var parts = new string[tokens];
        for (int i = 0; i < tokens; i++)
        {
            int roll = rng.Next(10);
            parts[i] = roll < 2 ? "*" : roll == 2 && i == tokens - 1 ? ">" : Alphabet[rng.Next(Alphabet.Length)];
        }
        return string.Join('.', parts);
    }

    private static string RandomSubject(Random rng)
        => string.Join('.', Enumerable.Range(0, rng.Next(1, 6)).Select(_ => Alphabet[rng.Next(Alphabet.Length)]));

    private static Subscription RandomSub(Random rng)
        => Sub(RandomPattern(rng), rng.Next(10) switch { 0 or 1 => "q1", 2 => "q2", _ => null });

    [Fact]
    public void Literal_matches_only_its_own_subject()
    {
        var router = new SubjectRouter();
        var sub = Sub("foo.bar");
        router.Add(sub);
        Assert.Equal([sub], router.Match("foo.bar"u8).Plain);
        Assert.True(router.Match("foo"u8).IsEmpty);
        Assert.True(router.Match("foo.bar.baz"u8).IsEmpty);
        Assert.True(router.Match("foo.baz"u8).IsEmpty);
        Assert.True(router.Match("FOO.BAR"u8).IsEmpty);
    }

    [Theory]
    [InlineData("*", "foo", true)]
    [InlineData("*", "foo.bar", false)]
    [InlineData("foo.*", "foo", false)]
    [InlineData("foo.*", "foo.bar", true)]
    [InlineData("foo.*", "foo.bar.baz", false)]
    [InlineData("*.bar", "foo.bar", true)]
    [InlineData("foo.*.baz", "foo.x.baz", true)]
    [InlineData("foo.*.baz", "foo.x.bax", false)]
    [InlineData(">", "foo", true)]
    [InlineData(">", "foo.bar.baz", true)]
    [InlineData("foo.>", "foo", false)]
    [InlineData("foo.>", "foo.bar", true)]
    [InlineData("foo.>", "foo.bar.baz", true)]
    [InlineData("foo.>", "bar.foo", false)]
    [InlineData("*.>", "foo", false)]
    [InlineData("*.>", "foo.bar", true)]
    public void Wildcards_match_like_nats(string pattern, string subject, bool matches)
    {
        Assert.Equal(matches, BruteForceMatches(pattern, subject));
        var router = new SubjectRouter();
        var sub = Sub(pattern);
        router.Add(sub);
        Assert.Equal(matches, router.HasInterest(Encoding.ASCII.GetBytes(subject)));
        Assert.Equal(matches, !router.Match(Encoding.UTF8.GetBytes(subject)).IsEmpty);
        Assert.Equal(matches, SubjectRouter.PatternMatches(pattern, subject));
    }

    [Fact]
    public void Queue_members_are_grouped_by_name()
    {
        var router = new SubjectRouter();
        Subscription[] subs = [Sub("foo"), Sub("foo", "q1"), Sub("foo", "q1"), Sub("foo", "q2"), Sub("*", "q2"), Sub("bar", "q1")];
        foreach (var sub in subs)
            router.Add(sub);
        AssertMatch(router, subs, "foo");
        AssertMatch(router, subs, "bar");
    }

    [Fact]
    public void One_queue_group_spans_every_pattern_its_members_used()
    {
        // nats-server merges queue subscribers by name across matching trie nodes, so a message reaches one member of
        // the group whether the members subscribed to foo.bar, foo.* or foo.>.
        var router = new SubjectRouter();
        Subscription[] subs = [Sub("foo.bar", "workers"), Sub("foo.*", "workers"), Sub("foo.>", "workers"), Sub(">", "other")];
        foreach (var sub in subs)
            router.Add(sub);
        var match = router.Match("foo.bar"u8);
        Assert.Equal(2, match.QueueGroups.Length);
        AssertMatch(router, subs, "foo.bar");
        AssertMatch(router, subs, "foo.baz");
    }

    [Fact]
    public void Remove_takes_out_only_that_subscription()
    {
        var router = new SubjectRouter();
        var a = Sub("foo.*");
        var b = Sub("foo.*");
        var q = Sub("foo.*", "q");
        router.Add(a);
        router.Add(b);
        router.Add(q);
        Assert.Equal(3, router.Count);

        Assert.True(router.Remove(a));
        Assert.False(router.Remove(a));
        Assert.False(router.Remove(Sub("foo.*")));
        Assert.False(router.Remove(Sub("never.added")));
        Assert.False(router.Remove(Sub("foo.*", "other")));
        Assert.Equal(2, router.Count);
        AssertMatch(router, [b, q], "foo.x");

        Assert.True(router.Remove(q));
        Assert.True(router.Remove(b));
        Assert.Equal(0, router.Count);
        Assert.True(router.Match("foo.x"u8).IsEmpty);
    }

    [Fact]
    public void Removing_a_leaf_keeps_its_siblings_and_parents()
    {
        var router = new SubjectRouter();
        var parent = Sub("a.b");
        var child = Sub("a.b.c");
        var sibling = Sub("a.b.d");
        var all = new List<Subscription> { parent, child, sibling };
        all.ForEach(router.Add);
        Assert.True(router.Remove(child));
        all.Remove(child);
        foreach (var subject in new[] { "a.b", "a.b.c", "a.b.d" })
            AssertMatch(router, all, subject);
        Assert.True(router.Remove(parent));
        all.Remove(parent);
        foreach (var subject in new[] { "a.b", "a.b.c", "a.b.d" })
            AssertMatch(router, all, subject);
    }

    [Fact]
    public void Accented_and_long_subjects_route_byte_for_byte()
    {
        var router = new SubjectRouter();
        var accented = Sub("caf\u00e9.*");
        string longToken = new('x', 700);
        var longLiteral = Sub("long." + longToken);
        router.Add(accented);
        router.Add(longLiteral);
        Assert.Equal([accented], router.Match([(byte)'c', (byte)'a', (byte)'f', 0xC3, 0xA9, (byte)'.', (byte)'x']).Plain);
        Assert.Equal([longLiteral], router.Match(Encoding.ASCII.GetBytes("long." + longToken)).Plain);
        Assert.True(router.Match(Encoding.ASCII.GetBytes("long." + longToken + "y")).IsEmpty);
    }

    [Fact]
    public void Adding_after_a_cached_match_is_seen()
    {
        var router = new SubjectRouter();
        // A subject is cached on its second miss: one-off subjects such as reply inboxes never are.
        Assert.True(router.Match("foo.bar"u8).IsEmpty);
        Assert.Equal(0, router.CacheCount);
        Assert.True(router.Match("foo.bar"u8).IsEmpty);
        Assert.True(router.CacheCount > 0);

        var wildcard = Sub("foo.*");
        router.Add(wildcard);
        Assert.Equal([wildcard], router.Match("foo.bar"u8).Plain);

        var full = Sub(">", "q");
        router.Add(full);
        AssertMatch(router, [wildcard, full], "foo.bar");

        Assert.True(router.Remove(wildcard));
        AssertMatch(router, [full], "foo.bar");
        Assert.True(router.Remove(full));
        Assert.True(router.Match("foo.bar"u8).IsEmpty);
    }

    [Fact]
    public void Unrelated_changes_keep_cached_results()
    {
        var router = new SubjectRouter();
        var sub = Sub("foo.bar");
        router.Add(sub);
        var first = router.Match("foo.bar"u8);
        router.Add(Sub("other.*"));
        Assert.Same(first, router.Match("foo.bar"u8));
    }

    [Fact]
    public void More_subjects_than_the_cache_holds_still_match_correctly()
    {
        var router = new SubjectRouter();
        var all = new List<Subscription> { Sub("big.*"), Sub("big.>", "q"), Sub("big.17") };
        all.ForEach(router.Add);
        var subjects = Enumerable.Range(0, 3000).Select(i => $"big.{i}").ToList();
        foreach (var subject in subjects)
        {
            AssertMatch(router, all, subject, "first pass");
            AssertMatch(router, all, subject, "first pass, cached");
        }
        Assert.InRange(router.CacheCount, 1, 1024);

        var late = Sub("big.2999");
        router.Add(late);
        all.Add(late);
        Assert.True(router.Remove(all[0]));
        all.RemoveAt(0);
        foreach (var subject in subjects.AsEnumerable().Reverse())
            AssertMatch(router, all, subject, "after changes");
        Assert.InRange(router.CacheCount, 1, 1024);
    }

    [Fact]
    public void Random_adds_and_removes_match_the_brute_force()
    {
        int seed = TestSeed.Get(424242);
        var rng = new Random(seed);
        var router = new SubjectRouter();
        var live = new List<Subscription>();
        for (int step = 0; step < 3000; step++)
        {
            int roll = rng.Next(10);
            if (roll < 6 || live.Count == 0)
            {
                var sub = RandomSub(rng);
                router.Add(sub);
                live.Add(sub);
            }
            else if (roll < 9)
            {
                int index = rng.Next(live.Count);
                Assert.True(router.Remove(live[index]), $"seed {seed} step {step}: remove of a live subscription failed");
                live.RemoveAt(index);
            }
            else
            {
                Assert.False(router.Remove(RandomSub(rng)), $"seed {seed} step {step}: removed a subscription never added");
            }
            Assert.Equal(live.Count, router.Count);
            for (int i = 0; i < 3; i++)
                AssertMatch(router, live, RandomSubject(rng), $"seed {seed} (UNITTEST_SEED) step {step}:");
        }
        foreach (var subject in AllSubjects(5))
            AssertMatch(router, live, subject, $"seed {seed} (UNITTEST_SEED) final:");
    }

    [Fact]
    public void Concurrent_adds_and_removes_leave_the_right_state()
    {
        int seed = TestSeed.Get(777);
        var router = new SubjectRouter();
        var sentinel = Sub(">");
        router.Add(sentinel);
        const int threads = 4;
        var live = new List<Subscription>[threads];
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var rng = new Random(seed + t);
            var mine = live[t] = [];
            for (int step = 0; step < 3000 && failures.IsEmpty; step++)
            {
                if (rng.Next(10) < 6 || mine.Count == 0)
                {
                    var sub = RandomSub(rng);
                    router.Add(sub);
                    mine.Add(sub);
                    // Nobody else touches this thread's subscriptions, so its own add must be visible at once.
                    var subject = string.Join('.', sub.Subject.Split('.').Select(p => p is "*" or ">" ? Alphabet[rng.Next(3)] : p));
                    var match = router.Match(Encoding.ASCII.GetBytes(subject));
                    if (!match.Plain.Contains(sub) && !match.QueueGroups.Any(g => g.Contains(sub)))
                        failures.Enqueue($"thread {t} step {step}: {Describe(sub)} missing from a match of {subject}");
                    if (!match.Plain.Contains(sentinel))
                        failures.Enqueue($"thread {t} step {step}: sentinel missing from a match of {subject}");
                }
                else
                {
                    int index = rng.Next(mine.Count);
                    var sub = mine[index];
                    if (!router.Remove(sub))
                        failures.Enqueue($"thread {t} step {step}: remove of {Describe(sub)} failed");
                    mine.RemoveAt(index);
                    var subject = string.Join('.', sub.Subject.Split('.').Select(p => p is "*" or ">" ? "a" : p));
                    var match = router.Match(Encoding.ASCII.GetBytes(subject));
                    if (match.Plain.Contains(sub) || match.QueueGroups.Any(g => g.Contains(sub)))
                        failures.Enqueue($"thread {t} step {step}: removed {Describe(sub)} still matches {subject}");
                }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());

        Assert.True(failures.IsEmpty, $"seed {seed} (UNITTEST_SEED): " + string.Join("; ", failures.Take(5)));
        var all = live.SelectMany(l => l).Append(sentinel).ToList();
        Assert.Equal(all.Count, router.Count);
        foreach (var subject in AllSubjects(5))
            AssertMatch(router, all, subject, $"seed {seed} (UNITTEST_SEED) final:");
    }

    [Theory]
    [InlineData("日本.>", "日本.東京")]
    [InlineData("секрет.*", "секрет.x")]
    [InlineData("caf\u00e9", "caf\u00e9")]
    public void Configured_unicode_patterns_match_the_utf8_bytes_clients_send(string pattern, string subject)
    {
        var router = new SubjectRouter();
        var sub = Sub(pattern);
        router.Add(sub);
        Assert.Equal([sub], router.Match(Encoding.UTF8.GetBytes(subject)).Plain);
        // The same characters as Latin-1 bytes are another subject.
        Assert.True(router.Match(Encoding.Latin1.GetBytes(subject)).IsEmpty);
    }

    [Fact]
    public void Wire_subjects_keep_their_bytes_even_when_not_utf8()
    {
        var router = new SubjectRouter();
        var sub = new Subscription([0xff, (byte)'.', 0xfe], null, [1], null, null);
        router.Add(sub);
        Assert.Equal([sub], router.Match([0xff, (byte)'.', 0xfe]).Plain);
        Assert.True(router.Match([0xff, (byte)'.', 0xfd]).IsEmpty);
        Assert.True(router.Remove(sub));
        Assert.Equal(0, router.Count);
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData(".a")]
    [InlineData("a.")]
    [InlineData(".")]
    [InlineData("orders.secret.")]
    public void Subjects_with_an_empty_token_match_nothing(string subject)
    {
        var router = new SubjectRouter();
        foreach (var pattern in new[] { ">", "*.>", "a.>", "a.*.b", "orders.>", "orders.secret.>", "*" })
            router.Add(Sub(pattern));
        var bytes = Encoding.ASCII.GetBytes(subject);
        // Twice: the second miss caches the (empty) result, which must stay empty.
        Assert.True(router.Match(bytes).IsEmpty);
        Assert.True(router.Match(bytes).IsEmpty);
        Assert.True(router.Match(bytes).IsEmpty);
    }

    [Fact]
    public void Matching_wire_bytes_allocates_nothing_cached_or_for_a_lone_subscriber()
    {
        var router = new SubjectRouter();
        router.Add(Sub("日本.*"));
        router.Add(Sub("_INBOX.abc.*"));
        var cached = Encoding.UTF8.GetBytes("日本.東京");
        router.Match(cached);
        router.Match(cached);
        var inboxes = Enumerable.Range(0, 1000).Select(i => Encoding.ASCII.GetBytes($"_INBOX.abc.{i}")).ToArray();
        router.Match(inboxes[0]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 1; i < inboxes.Length; i++)
        {
            router.Match(cached);
            router.Match(inboxes[i]);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
