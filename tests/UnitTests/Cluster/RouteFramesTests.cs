using System.Buffers;
using System.Text;
using Platform.Gateway.Cluster;

namespace Platform.UnitTests.Cluster;

public class RouteFramesTests
{
    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Frames_read_back_as_written_one_after_another()
    {
        var buffer = new byte[1024];
        var queues = new[] { B("workers"), B("other") };
        var body = new ReadOnlySequence<byte>(B("NATS/1.0\r\n\r\nhello"));
        int p = RouteFrames.WriteMessage(buffer, B("orders.new"), default, B("_INBOX.1"), queues, 12, body);
        Assert.Equal(RouteFrames.MessageSize(10, 0, 8, queues, body.Length), p);
        p += RouteFrames.WriteInterest(buffer.AsSpan(p), B("orders.*"), B("workers"), 3);
        p += RouteFrames.WriteMessage(buffer.AsSpan(p), B("deliver.x"), B("orders.old"), default, [], 0, new ReadOnlySequence<byte>(B("x")));
        buffer[p++] = RouteFrames.Reset;

        var batch = new ReadOnlyMemory<byte>(buffer, 0, p);
        int offset = 0;
        Assert.True(RouteFrames.TryRead(batch, ref offset, out var message));
        Assert.Equal(RouteFrames.Message, message.Kind);
        Assert.Equal("orders.new", Encoding.UTF8.GetString(message.Subject.Span));
        Assert.Equal("orders.new", Encoding.UTF8.GetString(message.VisibleSubject.Span));
        Assert.Equal("_INBOX.1", Encoding.UTF8.GetString(message.Reply.Span));
        Assert.Equal(12, message.HeaderLength);
        Assert.Equal("NATS/1.0\r\n\r\nhello", Encoding.UTF8.GetString(message.Body.Span));
        Assert.True(RouteFrames.NamesQueue(message.Queues.Span, "workers"));
        Assert.True(RouteFrames.NamesQueue(message.Queues.Span, "other"));
        Assert.False(RouteFrames.NamesQueue(message.Queues.Span, "worker"));

        Assert.True(RouteFrames.TryRead(batch, ref offset, out var interest));
        Assert.Equal((RouteFrames.Interest, "orders.*", "workers", 3),
            (interest.Kind, Encoding.UTF8.GetString(interest.Subject.Span), Encoding.UTF8.GetString(interest.Queues.Span), interest.Weight));

        Assert.True(RouteFrames.TryRead(batch, ref offset, out var delivered));
        Assert.Equal("deliver.x", Encoding.UTF8.GetString(delivered.Subject.Span));
        Assert.Equal("orders.old", Encoding.UTF8.GetString(delivered.VisibleSubject.Span));
        Assert.True(delivered.Queues.IsEmpty && delivered.Reply.IsEmpty);

        Assert.True(RouteFrames.TryRead(batch, ref offset, out var reset));
        Assert.Equal(RouteFrames.Reset, reset.Kind);
        Assert.False(RouteFrames.TryRead(batch, ref offset, out _));
    }
}
