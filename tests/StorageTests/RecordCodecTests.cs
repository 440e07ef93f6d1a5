using System.Text;
using Platform.Grains.Storage;

namespace Platform.StorageTests;

public class RecordCodecTests
{
    [Fact]
    public void Round_trips_every_field()
    {
        var encoded = RecordCodec.Encode(-42, "orders.new"u8, "NATS/1.0\r\n\r\n"u8, "hello"u8);
        Assert.Equal(RecordCodec.HeaderLength + 10 + 12 + 5 + 4, encoded.Length);

        var record = new LogRecord(7, encoded);
        Assert.Equal(7UL, record.Sequence);
        Assert.Equal(-42, record.TimestampNanos);
        Assert.Equal("orders.new", record.Subject);
        Assert.Equal("NATS/1.0\r\n\r\n"u8.ToArray(), record.Headers.ToArray());
        Assert.Equal("hello"u8.ToArray(), record.Payload.ToArray());
        Assert.Equal(record.Headers.ToArray(), record.HeadersMemory.ToArray());
        Assert.Equal(record.Payload.ToArray(), record.PayloadMemory.ToArray());
        Assert.Equal(encoded, record.Encoded.ToArray());
    }

    [Fact]
    public void Layout_is_the_documented_one()
    {
        var encoded = RecordCodec.Encode(0x0102030405060708, "ab"u8, "h"u8, "p"u8);
        byte[] body = [8, 7, 6, 5, 4, 3, 2, 1, 2, 0, 1, 0, 0, 0xC0, (byte)'a', (byte)'b', (byte)'h', (byte)'p'];
        Assert.Equal(body, encoded[..^4]);
        Assert.Equal(BitConverter.GetBytes(Checksum.Crc32C(body)), encoded[^4..]);
    }

    [Fact]
    public void Any_flipped_bit_makes_a_record_damaged()
    {
        var encoded = RecordCodec.Encode(123456789, "orders.new"u8, "NATS/1.0\r\nA: b\r\n\r\n"u8, "payload"u8);
        Assert.True(RecordCodec.IsIntact(encoded));
        for (int bit = 0; bit < encoded.Length * 8; bit++)
        {
            var damaged = (byte[])encoded.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(RecordCodec.IsIntact(damaged), $"bit {bit} flipped went unnoticed");
        }
        Assert.False(RecordCodec.IsIntact(encoded[..^1]));
        Assert.False(RecordCodec.IsIntact(encoded[..5]));
    }

    [Fact]
    public void Records_written_before_checksums_are_still_read()
    {
        // The layout without the trailer and without the flag bit in the headers length.
        byte[] old = [8, 7, 6, 5, 4, 3, 2, 1, 2, 0, 1, 0, 0, 0, (byte)'a', (byte)'b', (byte)'h', (byte)'p', (byte)'q'];
        var record = new LogRecord(1, old);
        Assert.True(RecordCodec.IsIntact(old));
        Assert.Equal("ab", record.Subject);
        Assert.Equal("h"u8.ToArray(), record.Headers.ToArray());
        Assert.Equal("pq"u8.ToArray(), record.Payload.ToArray());
        Assert.Equal("pq"u8.ToArray(), record.PayloadMemory.ToArray());
        Assert.Equal(22UL + 2 + 4 + 1 + 2 + 8, record.Size);
        Assert.False(RecordCodec.IsIntact(old[..15]));
    }

    [Fact]
    public void Size_follows_nats_server_filestore_accounting()
    {
        var plain = new LogRecord(1, RecordCodec.Encode(0, "foo"u8, default, new byte[100]));
        Assert.Equal(22UL + 3 + 100 + 8, plain.Size);

        var withHeaders = new LogRecord(1, RecordCodec.Encode(0, "foo"u8, new byte[20], new byte[100]));
        Assert.Equal(22UL + 3 + 4 + 20 + 100 + 8, withHeaders.Size);

        var empty = new LogRecord(1, RecordCodec.Encode(0, "foo"u8, default, default));
        Assert.Equal(33UL, empty.Size);
        Assert.True(empty.Payload.IsEmpty);
        Assert.True(empty.Headers.IsEmpty);
    }

    [Fact]
    public void Rejects_subjects_it_cannot_store()
    {
        Assert.Throws<ArgumentException>(() => RecordCodec.Encode(0, default, default, "x"u8));
        Assert.Throws<ArgumentException>(() => RecordCodec.Encode(0, new byte[ushort.MaxValue + 1], default, default));
        var longest = RecordCodec.Encode(0, Encoding.ASCII.GetBytes(new string('s', ushort.MaxValue)), default, default);
        Assert.Equal(ushort.MaxValue, new LogRecord(1, longest).SubjectBytes.Length);
    }

    [Fact]
    public void Every_encoding_is_a_new_array()
    {
        var a = RecordCodec.Encode(1, "s"u8, default, "p"u8);
        var b = RecordCodec.Encode(1, "s"u8, default, "p"u8);
        Assert.NotSame(a, b);
        Assert.Equal(a, b);
    }
}
