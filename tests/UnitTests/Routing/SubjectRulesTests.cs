using System.Text;
using Platform.Gateway.Routing;

namespace Platform.UnitTests.Routing;

public class SubjectRulesTests
{
    private static bool Subscribe(string subject) => SubjectRules.IsValidSubscribeSubject(Encoding.Latin1.GetBytes(subject));

    private static bool Publish(string subject) => SubjectRules.IsValidPublishSubject(Encoding.Latin1.GetBytes(subject));

    [Theory]
    [InlineData("foo")]
    [InlineData("foo.bar")]
    [InlineData("foo.bar.baz.qux")]
    [InlineData("foo*")]
    [InlineData("*foo")]
    [InlineData("foo>")]
    [InlineData("f>o.b*r")]
    [InlineData("_INBOX.abc123")]
    [InlineData("$JS.API.INFO")]
    [InlineData("foo-bar_baz")]
    [InlineData("caf\u00e9")]
    public void Literal_subjects_are_valid_for_both(string subject)
    {
        Assert.True(Subscribe(subject));
        Assert.True(Publish(subject));
    }

    [Theory]
    [InlineData("*")]
    [InlineData(">")]
    [InlineData("foo.*")]
    [InlineData("*.foo")]
    [InlineData("foo.*.bar")]
    [InlineData("*.*.*")]
    [InlineData("foo.>")]
    [InlineData("*.>")]
    [InlineData("foo.*.>")]
    public void Wildcard_subjects_are_valid_to_subscribe_only(string subject)
    {
        Assert.True(Subscribe(subject));
        Assert.False(Publish(subject));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData(".foo")]
    [InlineData("foo.")]
    [InlineData("foo..bar")]
    [InlineData(">.foo")]
    [InlineData("foo.>.bar")]
    [InlineData("foo.>.>")]
    [InlineData("foo.*.")]
    [InlineData("foo.>.")]
    public void Malformed_subjects_are_invalid_for_both(string subject)
    {
        Assert.False(Subscribe(subject));
        Assert.False(Publish(subject));
    }

    [Theory]
    [InlineData("foo bar")]
    [InlineData(" foo")]
    [InlineData("foo ")]
    [InlineData("foo\tbar")]
    [InlineData("foo\rbar")]
    [InlineData("foo\nbar")]
    public void Blanks_make_a_subscription_subject_invalid_but_not_a_pedantic_publish_subject(string subject)
    {
        Assert.False(Subscribe(subject));
        // nats-server 2.9.10 answers a pedantic PUB to "foo\r" without an error; a CR is the only blank a PUB subject
        // can carry on the wire.
        Assert.True(Publish(subject));
    }
}
