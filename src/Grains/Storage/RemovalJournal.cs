using System.Buffers.Binary;
using System.Text;

namespace Platform.Grains.Storage;

/// <summary>
/// What each removal did to the messages a <see cref="RecoveryCheckpoint"/> covers, so that recovery can subtract it
/// from the checkpoint without reading the removed messages again (a merge may already have dropped them).
/// </summary>
/// <remarks>
/// <para>Entries live in the log's own tree, under keys from <see cref="KeyBase"/> (2^63, a sequence no stream
/// reaches) plus their number: the same ordered write-ahead log as the removal itself, so a crash keeps an entry
/// whenever it keeps any write of the removal that follows it. A removal writes its entry first, then its own
/// writes, then the metadata record with the new removal count (<see cref="LogMetadata.Removals"/>): an entry
/// numbered past that count belongs to a removal the crash interrupted.</para>
/// <para>An entry only describes messages at or below its base, the last sequence of the newest checkpoint snapshot
/// when it was written; newer messages are re-read from the tree by recovery anyway. Recovery applies an entry only
/// over a checkpoint with the same base, which makes a checkpoint taken while removals go on safe: the snapshot
/// carries the removal count it includes, later entries are relative to its base, and an entry relative to a
/// snapshot that never reached the disk does not match the older file's base (the full scan is used then).</para>
/// <para>Two kinds: a range removal (retention, purge, compaction: everything below a new floor) stores per subject
/// how many messages and bytes went, since it may remove millions; a removal of chosen messages (delete, filtered
/// purge, KV per-subject limits) stores each one, because the deleted sequences are state too.</para>
/// </remarks>
internal static class RemovalJournal
{
    public const ulong KeyBase = 1UL << 63;

    private const byte Version = 1;
    private const int HeaderLength = 22;

    public static bool IsKey(ulong key) => key >= KeyBase;

    public static ulong KeyOf(ulong number) => KeyBase + number;

    public static ulong NumberOf(ulong key) => key - KeyBase;

    /// <summary>Builds one entry at a time in a reused buffer; not thread-safe (the log's lock guards it).</summary>
    internal sealed class Writer
    {
        private byte[] _buffer = new byte[256];
        private int _length;
        private uint _count;

        public uint Count => _count;

        public void BeginRange(ulong checkpointBase, ulong floor) => Begin(RemovalKind.Range, checkpointBase, floor);

        public void BeginMessages(ulong checkpointBase) => Begin(RemovalKind.Messages, checkpointBase, 0);

        public void AddSubject(string subject, ulong count, ulong bytes)
        {
            int subjectLength = Encoding.UTF8.GetByteCount(subject);
            var span = Reserve(2 + subjectLength + 16);
            BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)subjectLength);
            Encoding.UTF8.GetBytes(subject, span[2..]);
            BinaryPrimitives.WriteUInt64LittleEndian(span[(2 + subjectLength)..], count);
            BinaryPrimitives.WriteUInt64LittleEndian(span[(10 + subjectLength)..], bytes);
            _count++;
        }

        public void AddMessage(ulong sequence, ulong size, ReadOnlySpan<byte> subject)
        {
            var span = Reserve(18 + subject.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(span, sequence);
            BinaryPrimitives.WriteUInt64LittleEndian(span[8..], size);
            BinaryPrimitives.WriteUInt16LittleEndian(span[16..], (ushort)subject.Length);
            subject.CopyTo(span[18..]);
            _count++;
        }

        /// <summary>A fresh array: the tree keeps the one it is given.</summary>
        public byte[] ToArray()
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(18), _count);
            return _buffer.AsSpan(0, _length).ToArray();
        }

        private void Begin(RemovalKind kind, ulong checkpointBase, ulong floor)
        {
            _length = HeaderLength;
            _count = 0;
            _buffer[0] = Version;
            _buffer[1] = (byte)kind;
            BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(2), checkpointBase);
            BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(10), floor);
        }

        private Span<byte> Reserve(int bytes)
        {
            if (_length + bytes > _buffer.Length)
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + bytes));
            var span = _buffer.AsSpan(_length, bytes);
            _length += bytes;
            return span;
        }
    }

    /// <summary>One stored entry, read in place.</summary>
    internal readonly ref struct Entry
    {
        private readonly ReadOnlySpan<byte> _bytes;

        private Entry(ReadOnlySpan<byte> bytes) => _bytes = bytes;

        public RemovalKind Kind => (RemovalKind)_bytes[1];

        /// <summary>The checkpoint base it was written against: it describes messages at or below it only.</summary>
        public ulong Base => BinaryPrimitives.ReadUInt64LittleEndian(_bytes[2..]);

        /// <summary>For a range removal: everything below it went.</summary>
        public ulong Floor => BinaryPrimitives.ReadUInt64LittleEndian(_bytes[10..]);

        public static bool TryRead(ReadOnlySpan<byte> bytes, out Entry entry)
        {
            entry = new Entry(bytes);
            if (bytes.Length < HeaderLength || bytes[0] != Version || bytes[1] is not ((byte)RemovalKind.Range or (byte)RemovalKind.Messages))
                return false;
            // Walk it once so that readers can trust every length inside.
            var reader = new Reader(bytes);
            while (reader.Remaining > 0)
            {
                if (entry.Kind == RemovalKind.Range ? !reader.TryReadSubject(out _, out _, out _) : !reader.TryReadMessage(out _, out _, out _))
                    return false;
            }
            return reader.Read == BinaryPrimitives.ReadUInt32LittleEndian(bytes[18..]);
        }

        public Reader Items => new(_bytes);
    }

    internal ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _offset = HeaderLength;

        public uint Read { get; private set; }

        public readonly int Remaining => _bytes.Length - _offset;

        public bool TryReadSubject(out ReadOnlySpan<byte> subject, out ulong count, out ulong bytes)
        {
            subject = default;
            count = bytes = 0;
            if (Remaining < 2)
                return false;
            int length = BinaryPrimitives.ReadUInt16LittleEndian(_bytes[_offset..]);
            if (Remaining < 2 + length + 16)
                return false;
            subject = _bytes.Slice(_offset + 2, length);
            count = BinaryPrimitives.ReadUInt64LittleEndian(_bytes[(_offset + 2 + length)..]);
            bytes = BinaryPrimitives.ReadUInt64LittleEndian(_bytes[(_offset + 10 + length)..]);
            _offset += 18 + length;
            Read++;
            return true;
        }

        public bool TryReadMessage(out ulong sequence, out ulong size, out ReadOnlySpan<byte> subject)
        {
            sequence = size = 0;
            subject = default;
            if (Remaining < 18)
                return false;
            sequence = BinaryPrimitives.ReadUInt64LittleEndian(_bytes[_offset..]);
            size = BinaryPrimitives.ReadUInt64LittleEndian(_bytes[(_offset + 8)..]);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(_bytes[(_offset + 16)..]);
            if (Remaining < 18 + length)
                return false;
            subject = _bytes.Slice(_offset + 18, length);
            _offset += 18 + length;
            Read++;
            return true;
        }
    }
}

internal enum RemovalKind : byte
{
    Range = 1,
    Messages = 2,
}
