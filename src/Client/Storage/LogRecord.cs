using System.Text;

namespace Platform.Grains.Storage;

/// <summary>One stored message: its sequence and a view over its encoded record (see <see cref="RecordCodec"/>).</summary>
/// <remarks>
/// The encoded array is shared with the storage engine and with every other reader of the same message, so it is
/// only ever exposed read-only. <see cref="Encoded"/> lets a consumer ship the record on without re-encoding it.
/// </remarks>
internal readonly struct LogRecord
{
    private readonly byte[] _record;

    public LogRecord(ulong sequence, byte[] record)
    {
        Sequence = sequence;
        _record = record;
    }

    public ulong Sequence { get; }

    public ReadOnlyMemory<byte> Encoded => _record;

    public long TimestampNanos => RecordCodec.GetTimestampNanos(_record);

    public ReadOnlySpan<byte> SubjectBytes => RecordCodec.GetSubject(_record);

    /// <summary>Allocates; prefer <see cref="SubjectBytes"/> on hot paths.</summary>
    public string Subject => Encoding.UTF8.GetString(SubjectBytes);

    public ReadOnlySpan<byte> Headers => RecordCodec.GetHeaders(_record);

    public ReadOnlySpan<byte> Payload => RecordCodec.GetPayload(_record);

    public ReadOnlyMemory<byte> HeadersMemory
    {
        get
        {
            int subjectLength = RecordCodec.GetSubjectLength(_record);
            return new ReadOnlyMemory<byte>(_record, RecordCodec.HeaderLength + subjectLength, RecordCodec.GetHeadersLength(_record));
        }
    }

    public ReadOnlyMemory<byte> PayloadMemory
    {
        get
        {
            var (start, length) = RecordCodec.PayloadRange(_record);
            return new ReadOnlyMemory<byte>(_record, start, length);
        }
    }

    /// <summary>nats-server's stored-size accounting for this message; <see cref="LogState.Bytes"/> is the sum over live messages.</summary>
    public ulong Size => RecordCodec.StoredSize(_record);
}
