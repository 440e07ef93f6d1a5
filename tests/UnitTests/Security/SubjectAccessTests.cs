using System.Text;
using Platform.Gateway.Security;

namespace Platform.UnitTests.Security;

public class SubjectAccessTests
{
    private static bool Allowed(SubjectAccess access, string subject) => access.IsAllowed(Encoding.ASCII.GetBytes(subject));

    [Fact]
    public void Allow_then_deny_with_wildcards_matched_as_nats_server_does()
    {
        var access = new SubjectAccess(["x.>", "y.*"], ["x.secret"]);
        Assert.True(Allowed(access, "x.a"));
        Assert.True(Allowed(access, "x.a.b"));
        Assert.False(Allowed(access, "x.secret"));
        Assert.False(Allowed(access, "x"));
        Assert.True(Allowed(access, "y.b"));
        Assert.False(Allowed(access, "y.b.c"));
        // A wildcard subject is matched token by token as if literal: "y.>" fits "y.*", "y.*" does not fit "y.a".
        Assert.True(Allowed(access, "y.>"));
        Assert.False(Allowed(new SubjectAccess(["y.a"], null), "y.*"));
        // Deny only: everything else is allowed.
        var denyOnly = new SubjectAccess(null, ["z.>"]);
        Assert.True(Allowed(denyOnly, ">"));
        Assert.False(Allowed(denyOnly, "z.*"));
        // An empty allow list allows nothing.
        Assert.False(Allowed(new SubjectAccess([], null), "a"));
    }

    [Fact]
    public void Cache_hit_allocates_nothing_and_the_cache_stays_bounded()
    {
        var access = new SubjectAccess(["orders.>"], ["orders.secret"]);
        var subject = "orders.eu.created"u8.ToArray();
        Assert.True(access.IsAllowed(subject));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
            access.IsAllowed(subject);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        for (int i = 0; i < SubjectAccess.CacheLimit * 3; i++)
            Assert.True(access.IsAllowed(Encoding.ASCII.GetBytes($"orders.{i}")));
        Assert.True(access.CacheCount <= SubjectAccess.CacheLimit, $"{access.CacheCount} cached");
        Assert.False(access.IsAllowed("orders.secret"u8.ToArray()));
    }

    [Fact]
    public void Unicode_patterns_meet_utf8_wire_subjects()
    {
        var access = new SubjectAccess(null, ["секрет.>"]);
        Assert.False(access.IsAllowed(Encoding.UTF8.GetBytes("секрет.x")));
        Assert.True(access.IsAllowed(Encoding.UTF8.GetBytes("открыто.x")));
        var allow = new SubjectAccess(["日本.>"], null);
        Assert.True(allow.IsAllowed(Encoding.UTF8.GetBytes("日本.東京")));
        Assert.False(allow.IsAllowed(Encoding.Latin1.GetBytes("日本.東京")));
    }

    [Fact]
    public void A_subject_with_an_empty_token_matches_no_pattern_as_in_nats_server()
    {
        // It passes a deny list (it is then delivered and stored nowhere) and fails an allow list.
        var deny = new SubjectAccess(null, ["orders.secret", "orders.>"]);
        Assert.True(Allowed(deny, "orders.secret."));
        Assert.True(Allowed(deny, "orders..x"));
        var allow = new SubjectAccess(["orders.>", ">"], null);
        Assert.False(Allowed(allow, "orders.secret."));
        Assert.False(Allowed(allow, ".orders"));
    }
}
