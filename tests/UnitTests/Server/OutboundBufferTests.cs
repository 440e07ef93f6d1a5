using System.Buffers;
using System.Text;
using Platform.Gateway.Server;
using Platform.UnitTests.Protocol;

namespace Platform.UnitTests.Server;

public class OutboundBufferTests
{
    private const string Headers = "NATS/1.0\r\nA: b\r\n\r\n";

    private static ReadOnlySequence<byte> Bytes(string text) => new(Encoding.Latin1.GetBytes(text));

    private static ReadOnlySequence<byte> Segments(params string[] parts)
        => BufferSegment.Sequence(parts.Select(p => (ReadOnlyMemory<byte>)Encoding.Latin1.GetBytes(p)).ToList());

    private static string TakeText(OutboundBuffer buffer)
    {
        var taken = buffer.Take();
        var text = Encoding.Latin1.GetString(taken.AsSpan());
        if (taken.Array is not null)
            buffer.Release(taken);
        return text;
    }

    [Fact]
    public void Message_without_reply()
    {
        var buffer = new OutboundBuffer(1 << 20);
        Assert.True(buffer.TryWriteMessage("subj"u8, "sid"u8, default, 0, Bytes("hello"), clientAcceptsHeaders: true));
        Assert.Equal("MSG subj sid 5\r\nhello\r\n", TakeText(buffer));
    }

    [Fact]
    public void Message_with_reply()
    {
        var buffer = new OutboundBuffer(1 << 20);
        Assert.True(buffer.TryWriteMessage("foo.bar"u8, "12"u8, "_INBOX.x"u8, 0, Bytes("hello"), clientAcceptsHeaders: false));
        Assert.Equal("MSG foo.bar 12 _INBOX.x 5\r\nhello\r\n", TakeText(buffer));
    }

    [Fact]
    public void Empty_payload()
    {
        var buffer = new OutboundBuffer(1 << 20);
        Assert.True(buffer.TryWriteMessage("foo"u8, "1"u8, default, 0, ReadOnlySequence<byte>.Empty, clientAcceptsHeaders: true));
        Assert.Equal("MSG foo 1 0\r\n\r\n", TakeText(buffer));
    }

    [Fact]
    public void Headers_go_out_as_hmsg_with_header_length_and_total()
    {
        var buffer = new OutboundBuffer(1 << 20);
        Assert.True(buffer.TryWriteMessage("foo"u8, "1"u8, default, Headers.Length, Bytes(Headers + "hello"), clientAcceptsHeaders: true));
        Assert.True(buffer.TryWriteMessage("foo"u8, "1"u8, "bar"u8, Headers.Length, Bytes(Headers), clientAcceptsHeaders: true));
        Assert.Equal(
            $"HMSG foo 1 18 23\r\n{Headers}hello\r\n" +
            $"HMSG foo 1 bar 18 18\r\n{Headers}\r\n",
            TakeText(buffer));
    }

    [Fact]
    public void Headers_are_stripped_for_a_client_without_header_support()
    {
        var buffer = new OutboundBuffer(1 << 20);
        Assert.True(buffer.TryWriteMessage("foo"u8, "1"u8, "bar"u8, Headers.Length, Bytes(Headers + "hello"), clientAcceptsHeaders: false));
        Assert.True(buffer.TryWriteMessage("foo"u8, "1"u8, default, Headers.Length, Bytes(Headers), clientAcceptsHeaders: false));
        Assert.Equal("MSG foo 1 bar 5\r\nhello\r\nMSG foo 1 0\r\n\r\n", TakeText(buffer));
    }

    [Fact]
    public void Multi_segment_payloads_are_copied_in_order()
    {
        var buffer = new OutboundBuffer(1 << 20);
        Assert.True(buffer.TryWriteMessage("foo"u8, "1"u8, default, 0, Segments("he", "", "l", "lo"), clientAcceptsHeaders: true));
        // The header/payload boundary falls inside a segment, and the stripped body starts mid-segment.
        var message = Segments("NATS/1.0\r", "\nA: b\r\n\r\nhe", "llo");
        Assert.True(buffer.TryWriteMessage("foo"u8, "2"u8, default, Headers.Length, message, clientAcceptsHeaders: true));
        Assert.True(buffer.TryWriteMessage("foo"u8, "3"u8, default, Headers.Length, message, clientAcceptsHeaders: false));
        Assert.Equal(
            "MSG foo 1 5\r\nhello\r\n" +
            $"HMSG foo 2 18 23\r\n{Headers}hello\r\n" +
            "MSG foo 3 5\r\nhello\r\n",
            TakeText(buffer));
    }

    [Fact]
    public void Buffer_grows_past_its_initial_size_keeping_what_it_holds()
    {
        var buffer = new OutboundBuffer(1 << 24);
        var expected = new StringBuilder();
        for (int i = 0; i < 2000; i++)
        {
            var payload = new string((char)('a' + i % 26), i % 50);
            Assert.True(buffer.TryWriteMessage(Encoding.ASCII.GetBytes($"s.{i}"), "9"u8, default, 0, Bytes(payload), clientAcceptsHeaders: true));
            expected.Append($"MSG s.{i} 9 {payload.Length}\r\n{payload}\r\n");
        }
        var big = new string('z', 200_000);
        Assert.True(buffer.TryWriteMessage("big"u8, "1"u8, default, 0, Bytes(big), clientAcceptsHeaders: true));
        expected.Append($"MSG big 1 200000\r\n{big}\r\n");
        Assert.Equal(expected.Length, buffer.PendingBytes);
        Assert.Equal(expected.ToString(), TakeText(buffer));
    }

    [Fact]
    public void Raw_writes_stop_once_pending_would_exceed_max_pending()
    {
        var buffer = new OutboundBuffer(100);
        Assert.True(buffer.TryWrite(new byte[60]));
        Assert.True(buffer.TryWrite(new byte[40]));
        Assert.Equal(100, buffer.PendingBytes);
        Assert.False(buffer.TryWrite(new byte[1]));
        Assert.Equal(100, buffer.PendingBytes);
        Assert.True(buffer.TryWrite([]));
    }

    [Fact]
    public void Messages_stop_once_pending_would_exceed_max_pending_and_earlier_ones_stay_intact()
    {
        var buffer = new OutboundBuffer(1000);
        int accepted = 0;
        while (buffer.TryWriteMessage("foo"u8, "1"u8, default, 0, Bytes("hello"), clientAcceptsHeaders: true))
            accepted++;
        const string one = "MSG foo 1 5\r\nhello\r\n";
        // The check reserves a worst-case line length (two 10-digit sizes), so the last few bytes may stay unused.
        Assert.InRange(accepted * one.Length, 1000 - 60, 1000);
        Assert.Equal(accepted * one.Length, buffer.PendingBytes);
        Assert.Equal(string.Concat(Enumerable.Repeat(one, accepted)), TakeText(buffer));
    }

    [Fact]
    public void A_message_larger_than_max_pending_is_refused_even_when_empty()
    {
        var buffer = new OutboundBuffer(100);
        Assert.False(buffer.TryWriteMessage("foo"u8, "1"u8, default, 0, new ReadOnlySequence<byte>(new byte[100]), clientAcceptsHeaders: true));
        Assert.Equal(0, buffer.PendingBytes);
        Assert.Null(buffer.Take().Array);
    }

    [Fact]
    public void Bytes_in_flight_count_as_pending_until_released()
    {
        var buffer = new OutboundBuffer(100);
        Assert.True(buffer.TryWrite(new byte[80]));
        var taken = buffer.Take();
        Assert.Equal(80, taken.Count);
        Assert.Equal(80, buffer.PendingBytes);
        Assert.False(buffer.TryWrite(new byte[30]));
        Assert.True(buffer.TryWrite(new byte[20]));
        Assert.Equal(100, buffer.PendingBytes);

        buffer.Release(taken);
        Assert.Equal(20, buffer.PendingBytes);
        Assert.True(buffer.TryWrite(new byte[80]));
        Assert.Equal(100, buffer.PendingBytes);
    }

    [Fact]
    public void Take_and_release_cycle_hands_out_each_byte_once()
    {
        var buffer = new OutboundBuffer(1 << 20);
        Assert.Null(buffer.Take().Array);

        Assert.True(buffer.TryWrite("PING\r\n"u8));
        var first = buffer.Take();
        Assert.Equal("PING\r\n", Encoding.ASCII.GetString(first.AsSpan()));
        Assert.Null(buffer.Take().Array);
        Assert.True(buffer.TryWrite("PONG\r\n"u8));
        buffer.Release(first);

        var second = buffer.Take();
        Assert.Equal("PONG\r\n", Encoding.ASCII.GetString(second.AsSpan()));
        buffer.Release(second);

        // The released buffer is kept as the spare, so a steady stream of flushes does not rent per flush.
        Assert.True(buffer.TryWrite("+OK\r\n"u8));
        var third = buffer.Take();
        Assert.Same(first.Array, third.Array);
        Assert.Equal("+OK\r\n", Encoding.ASCII.GetString(third.AsSpan()));
        buffer.Release(third);
        Assert.Equal(0, buffer.PendingBytes);
    }

    [Fact]
    public async Task Signal_wakes_the_writer_and_close_ends_it()
    {
        var buffer = new OutboundBuffer(1 << 20);
        var waiting = buffer.WaitAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        buffer.Signal();
        buffer.Signal();
        Assert.True(await waiting);
        Assert.Null(buffer.Take().Array);

        buffer.Close();
        Assert.False(await buffer.WaitAsync(CancellationToken.None));
        Assert.False(buffer.TryWrite("PING\r\n"u8));
        Assert.False(buffer.TryWriteMessage("foo"u8, "1"u8, default, 0, Bytes("x"), clientAcceptsHeaders: true));
    }
}
