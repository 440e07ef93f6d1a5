using System.Text;
using Platform.Grains.Streams;

namespace Platform.UnitTests.Streams;

/// <summary>The Nats-Counter-Sources header as nats-server reads and writes it, and its header-block edits.</summary>
public class CounterSourcesTests
{
    [Fact]
    public void The_map_is_written_as_go_writes_it_keys_in_byte_order_without_spaces()
    {
        var sources = new Dictionary<string, Dictionary<string, string>>
        {
            ["b"] = new() { ["z.x"] = "-3", ["Z.x"] = "1" },
            ["B"] = new() { ["s"] = "123456789012345678901234567890" },
        };
        Assert.Equal("""{"B":{"s":"123456789012345678901234567890"},"b":{"Z.x":"1","z.x":"-3"}}""", CounterSources.Write(sources));
    }

    [Fact]
    public void A_header_block_gives_back_the_map_it_carries_none_when_it_has_none_and_refuses_what_is_no_map()
    {
        var block = "NATS/1.0\r\nNats-Incr: 1\r\nNats-Counter-Sources: {\"S\":{\"s.a\":\"5\"}}\r\n\r\n"u8;
        Assert.True(CounterSources.TryRead(block, out var sources));
        Assert.Equal("5", sources!["S"]["s.a"]);
        Assert.True(CounterSources.TryRead("NATS/1.0\r\nNats-Incr: 1\r\n\r\n"u8, out var none));
        Assert.Null(none);
        Assert.True(CounterSources.TryRead(default, out none));
        Assert.Null(none);
        Assert.False(CounterSources.TryRead("NATS/1.0\r\nNats-Counter-Sources: {\"S\":{\"s.a\":5}}\r\n\r\n"u8, out _));
        Assert.False(CounterSources.TryRead("NATS/1.0\r\nNats-Counter-Sources: [\r\n\r\n"u8, out _));
    }

    [Theory]
    [InlineData("NATS/1.0\r\nA: 1\r\nNats-Incr: +5\r\nB: 2\r\n\r\n", "NATS/1.0\r\nA: 1\r\nNats-Incr: -12\r\nB: 2\r\n\r\n")]
    [InlineData("NATS/1.0\r\nA: 1\r\n\r\n", "NATS/1.0\r\nA: 1\r\nNats-Incr: -12\r\n\r\n")]
    [InlineData("", "NATS/1.0\r\nNats-Incr: -12\r\n\r\n")]
    // Only a whole header name matches.
    [InlineData("NATS/1.0\r\nX-Nats-Incr: 1\r\n\r\n", "NATS/1.0\r\nX-Nats-Incr: 1\r\nNats-Incr: -12\r\n\r\n")]
    public void Setting_a_header_replaces_its_value_or_adds_it_before_the_end_of_the_block(string before, string after)
        => Assert.Equal(after, Encoding.UTF8.GetString(CounterSources.SetHeader(Encoding.UTF8.GetBytes(before), "Nats-Incr", "-12")));
}
