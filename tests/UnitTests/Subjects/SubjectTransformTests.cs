using Platform.Grains.Subjects;

namespace Platform.UnitTests.Subjects;

/// <summary>The transform functions as nats-server documents them, each on the token it names.</summary>
public class SubjectTransformTests
{
    [Theory]
    [InlineData("a.*.*", "b.$2.$1", "a.x.y", "b.y.x")]
    [InlineData("a.*.*", "b.{{wildcard(2)}}.{{ Wildcard(1) }}", "a.x.y", "b.y.x")]
    [InlineData("a.*", "b.{{splitFromLeft(1,3)}}", "a.12345", "b.123.45")]
    [InlineData("a.*", "b.{{splitFromRight(1,3)}}", "a.12345", "b.12.345")]
    [InlineData("a.*", "b.{{splitFromLeft(1,9)}}", "a.12345", "b.12345")]
    [InlineData("a.*", "b.{{sliceFromLeft(1,2)}}", "a.12345", "b.12.34.5")]
    [InlineData("a.*", "b.{{sliceFromRight(1,2)}}", "a.12345", "b.1.23.45")]
    [InlineData("a.*", "b.{{sliceFromRight(1,2)}}", "a.1234", "b.12.34")]
    [InlineData("a.*", "b.{{split(1,-)}}", "a.x-y--z-", "b.x.y.z")]
    [InlineData("a.*", "b.{{left(1,2)}}", "a.12345", "b.12")]
    [InlineData("a.*", "b.{{right(1,2)}}", "a.12345", "b.45")]
    [InlineData("a.>", "b.>", "a.x.y.z", "b.x.y.z")]
    [InlineData("a.*.>", "b.$1.c.>", "a.x.y.z", "b.x.c.y.z")]
    [InlineData("", "pre.>", "x.y", "pre.x.y")]
    [InlineData(">", ">", "x.y", "x.y")]
    [InlineData("a.b", "c", "a.b", "c")]
    public void Maps_a_subject(string source, string destination, string subject, string expected)
    {
        var transform = SubjectTransform.Create(source, destination, out var error);
        Assert.Null(error);
        Assert.Equal(expected, transform!.Transform(subject));
    }

    [Fact]
    public void Partition_is_fnv1a_of_the_tokens_modulo_the_count()
    {
        var transform = SubjectTransform.Create("orders.*.*", "p.{{partition(10,1,2)}}", out _)!;
        foreach (var (a, b) in new[] { ("x", "y"), ("customer-17", "eu"), ("k", "z") })
        {
            uint hash = 2166136261;
            foreach (char c in a + b)
                hash = (hash ^ c) * 16777619;
            Assert.Equal($"p.{hash % 10}", transform.Transform($"orders.{a}.{b}"));
        }
    }

    [Fact]
    public void A_subject_outside_the_source_is_not_transformed()
    {
        var transform = SubjectTransform.Create("a.*", "b.$1", out _)!;
        Assert.Null(transform.Transform("c.x"));
        Assert.Null(transform.Transform("a.x.y"));
    }

    [Theory]
    [InlineData("a.*", "b.*", "invalid subject")]
    [InlineData("a.>", "b", "invalid subject")]
    [InlineData("a.*", "b.{{wildcard(2)}}", "invalid mapping destination: wildcard index out of range in {{wildcard(2)}}: [2]")]
    [InlineData("a.b", "c.{{wildcard(1)}}", "invalid mapping destination: wildcard index out of range in {{wildcard(1)}}")]
    [InlineData("a.*", "b.{{wildcard()}}", "invalid mapping destination: not enough arguments passed to the function in {{wildcard()}}")]
    [InlineData("a.*", "b.{{wildcard(1,2)}}", "invalid mapping destination: too many arguments passed to the function in {{wildcard(1,2)}}")]
    [InlineData("a.*", "b.{{left(x,2)}}", "invalid mapping destination: function argument is invalid or in the wrong format in {{left(x,2)}}")]
    [InlineData("a.*", "b.{{what(1)}}", "invalid mapping destination: unknown function in {{what(1)}}")]
    public void Refuses_what_nats_server_refuses(string source, string destination, string reason)
    {
        Assert.Null(SubjectTransform.Create(source, destination, out var error));
        Assert.Equal(reason, error);
    }
}
