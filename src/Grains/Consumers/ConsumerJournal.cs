using System.Buffers.Binary;
using System.Numerics;
using Microsoft.Win32.SafeHandles;
using Platform.Grains.Storage;

namespace Platform.Grains.Consumers;

/// <summary>
/// What a durable consumer delivered and what was acked since its last snapshot, appended to
/// <c>consumers/&lt;name&gt;/journal</c>: one record per fetch that delivered and one per ack batch, written to the OS
/// before the grain call returns, so an AckSync reply (sent after that) survives <c>kill -9</c>. Replayed over the
/// snapshot at activation; every snapshot empties it. With <see cref="SyncSetting.Always"/> durable acks also wait
/// for an fsync shared by everything written meanwhile (group commit), as publishes do.
/// </summary>
/// <remarks>
/// <para>The file starts with a header naming the snapshot generation it continues; a journal whose generation is
/// not the snapshot's was already folded into it (the crash came between the snapshot and the reset) and is ignored.</para>
/// <para>Records are <c>[u32 length][u32 crc32c][payload]</c>. Replay stops at the first record that is short or fails
/// its checksum: the tail a power loss may tear.</para>
/// </remarks>
internal sealed class ConsumerJournal : IDisposable
{
    public const string FileName = "journal";

    private const uint Magic = 0x314A4B43; // "CKJ1"
    private const int HeaderLength = 16;
    private const int RecordHeaderLength = 8;
    private const byte DeliveredType = 1;
    private const byte AckedType = 2;
    private const int DeliveredHeaderLength = 25;
    private const int DeliveryLength = 32;
    private const int AckLength = 9;

    private readonly SafeFileHandle _file;
    private readonly GroupCommit? _groupCommit;
    private byte[] _buffer = new byte[4096];
    private int _recordLength;
    private long _length;
    private volatile bool _failed;

    private ConsumerJournal(SafeFileHandle file, bool syncAlways)
    {
        _file = file;
        if (syncAlways)
            _groupCommit = new GroupCommit(() => Task.Run(() => RandomAccess.FlushToDisk(_file)));
    }

    /// <summary>Opens the journal for appending; <see cref="Reset"/> must run before the first record.</summary>
    public static ConsumerJournal Open(string directory, bool syncAlways)
    {
        Directory.CreateDirectory(directory);
        var file = File.OpenHandle(Path.Combine(directory, FileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        return new ConsumerJournal(file, syncAlways);
    }

    /// <summary>
    /// Opens a replica's copy of a journal to go on after <paramref name="recordsLength"/> bytes of records, which it
    /// holds after its header (<see cref="Reset"/> starts a new copy instead).
    /// </summary>
    public static ConsumerJournal OpenAt(string directory, bool syncAlways, long recordsLength)
    {
        var journal = Open(directory, syncAlways);
        journal._length = HeaderLength + recordsLength;
        return journal;
    }

    /// <summary>Empties the journal after a snapshot of <paramref name="generation"/> is on disk.</summary>
    public void Reset(ulong generation)
    {
        _failed = true;
        RandomAccess.SetLength(_file, 0);
        Span<byte> header = stackalloc byte[HeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], generation);
        RandomAccess.Write(_file, header, 0);
        _length = HeaderLength;
        _failed = false;
    }

    /// <summary>Starts a delivery record; <see cref="AddDelivery"/> each message, then <see cref="EndRecord"/>.</summary>
    public void BeginDelivered(ulong cursor, ulong deliveredConsumerSeq, ulong deliveredStreamSeq)
    {
        _recordLength = RecordHeaderLength;
        Put(DeliveredType);
        Put(cursor);
        Put(deliveredConsumerSeq);
        Put(deliveredStreamSeq);
    }

    /// <param name="deadlineUnixMs">Wall-clock time the message is due again, so a restart keeps its ack wait.</param>
    public void AddDelivery(ulong streamSeq, ulong consumerSeq, int deliveries, long deadlineUnixMs)
    {
        Put(streamSeq);
        Put(consumerSeq);
        Put((ulong)(uint)deliveries);
        Put((ulong)deadlineUnixMs);
    }

    public void BeginAcked()
    {
        _recordLength = RecordHeaderLength;
        Put(AckedType);
    }

    public void AddAck(AckKind kind, ulong streamSeq)
    {
        Put((byte)kind);
        Put(streamSeq);
    }

    /// <summary>Writes the record to the OS; throws <see cref="IOException"/> (and refuses durable acks until the next reset) if it fails.</summary>
    public void EndRecord()
    {
        if (_failed)
            throw new IOException("The consumer journal failed; it is usable again after the next snapshot.");
        var payload = _buffer.AsSpan(RecordHeaderLength, _recordLength - RecordHeaderLength);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(4), Checksum.Crc32C(payload));
        try
        {
            RandomAccess.Write(_file, _buffer.AsSpan(0, _recordLength), _length);
        }
        catch (IOException)
        {
            // Part of the record may be on disk: later records would land after a torn one and never be replayed.
            _failed = true;
            throw;
        }
        _length += _recordLength;
        _groupCommit?.MarkWritten();
    }

    /// <summary>The record <see cref="EndRecord"/> wrote last, as it is in the file, until the next one begins.</summary>
    public ReadOnlySpan<byte> LastRecord => _buffer.AsSpan(0, _recordLength);

    /// <summary>Appends records a primary's journal wrote (<see cref="LastRecord"/>) to a replica's copy.</summary>
    public void Append(ReadOnlySpan<byte> records)
    {
        RandomAccess.Write(_file, records, _length);
        _length += records.Length;
        _groupCommit?.MarkWritten();
    }

    /// <summary>Completes when what was written so far survives a power loss (with sync always; at once otherwise).</summary>
    public ValueTask CommitAsync() =>
        _failed ? ValueTask.FromException(new IOException("The consumer journal failed.")) : _groupCommit?.CommitAsync() ?? ValueTask.CompletedTask;

    public void Dispose() => _file.Dispose();

    private void Put(byte value)
    {
        Reserve(1)[0] = value;
    }

    private void Put(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(Reserve(8), value);
    }

    private Span<byte> Reserve(int length)
    {
        if (_recordLength + length > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _recordLength + length));
        var span = _buffer.AsSpan(_recordLength, length);
        _recordLength += length;
        return span;
    }

    /// <summary>The records of <paramref name="generation"/> in <paramref name="directory"/>, oldest first; none if the file is missing or of another generation.</summary>
    public static List<JournalRecord> Read(string directory, ulong generation)
    {
        var records = new List<JournalRecord>();
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            return records;
        var bytes = File.ReadAllBytes(path).AsSpan();
        if (bytes.Length < HeaderLength || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic
            || BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]) != generation)
            return records;
        int offset = HeaderLength;
        while (offset + RecordHeaderLength <= bytes.Length)
        {
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[offset..]);
            uint checksum = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(offset + 4)..]);
            if (length <= 0 || length > bytes.Length - offset - RecordHeaderLength)
                break;
            var payload = bytes.Slice(offset + RecordHeaderLength, length);
            if (Checksum.Crc32C(payload) != checksum || Decode(payload) is not { } record)
                break;
            records.Add(record);
            offset += RecordHeaderLength + length;
        }
        return records;
    }

    private static JournalRecord? Decode(ReadOnlySpan<byte> payload)
    {
        switch (payload[0])
        {
            case DeliveredType when payload.Length >= DeliveredHeaderLength && (payload.Length - DeliveredHeaderLength) % DeliveryLength == 0:
            {
                var deliveries = new JournalDelivery[(payload.Length - DeliveredHeaderLength) / DeliveryLength];
                for (int i = 0; i < deliveries.Length; i++)
                {
                    var entry = payload.Slice(DeliveredHeaderLength + i * DeliveryLength, DeliveryLength);
                    deliveries[i] = new JournalDelivery(BinaryPrimitives.ReadUInt64LittleEndian(entry),
                        BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]), (int)BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]),
                        BinaryPrimitives.ReadInt64LittleEndian(entry[24..]));
                }
                return new JournalDelivered(BinaryPrimitives.ReadUInt64LittleEndian(payload[1..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(payload[9..]), BinaryPrimitives.ReadUInt64LittleEndian(payload[17..]), deliveries);
            }
            case AckedType when (payload.Length - 1) % AckLength == 0:
            {
                var acks = new AckOp[(payload.Length - 1) / AckLength];
                for (int i = 0; i < acks.Length; i++)
                {
                    var entry = payload.Slice(1 + i * AckLength, AckLength);
                    acks[i] = new AckOp((AckKind)entry[0], BinaryPrimitives.ReadUInt64LittleEndian(entry[1..]), 0, 0);
                }
                return new JournalAcked(acks);
            }
            default:
                return null;
        }
    }
}

internal abstract record JournalRecord;

/// <summary>One fetch: where the consumer stood after it and what it delivered.</summary>
internal sealed record JournalDelivered(ulong Cursor, ulong DeliveredConsumerSeq, ulong DeliveredStreamSeq, JournalDelivery[] Deliveries) : JournalRecord;

internal readonly record struct JournalDelivery(ulong StreamSeq, ulong ConsumerSeq, int Deliveries, long DeadlineUnixMs);

internal sealed record JournalAcked(AckOp[] Acks) : JournalRecord;
