using System.Buffers.Text;

namespace Platform.Grains.Streams;

/// <summary>
/// The headers of 2.12's atomic batch publish (ADR-50), read only from a header block that mentions "Nats-Batch-":
/// the stream's publish path checks for that once per message with headers, so other publishes pay nothing more.
/// </summary>
internal readonly ref struct BatchHeaders
{
    public static bool Mentioned(ReadOnlySpan<byte> block) => !block.IsEmpty && block.IndexOf("Nats-Batch-"u8) >= 0;

    public BatchHeaders(ReadOnlySpan<byte> block)
    {
        Id = default;
        Sequence = null;
        Commit = default;
        HasCommit = false;
        foreach (var header in new HeaderLines(block))
        {
            ReadOnlySpan<byte> key = header.Key, value = header.Value;
            if (key.SequenceEqual("Nats-Batch-Id"u8)) Id = value;
            else if (key.SequenceEqual("Nats-Batch-Sequence"u8)) Sequence = ParseSequence(value);
            else if (key.SequenceEqual("Nats-Batch-Commit"u8))
            {
                Commit = value;
                HasCommit = true;
            }
        }
    }

    /// <summary>Empty: not a batch message (nats-server treats an empty id as none).</summary>
    public ReadOnlySpan<byte> Id { get; }
    /// <summary>Null when missing or not a number; nats-server reports both as a missing sequence.</summary>
    public ulong? Sequence { get; }
    public ReadOnlySpan<byte> Commit { get; }
    public bool HasCommit { get; }
    /// <summary>"eob": the message ends the batch and is not stored itself.</summary>
    public bool CommitsByEndOfBatch => HasCommit && Commit.SequenceEqual("eob"u8);
    public bool CommitValid => !HasCommit || Commit.SequenceEqual("1"u8) || Commit.SequenceEqual("eob"u8);

    private static ulong? ParseSequence(ReadOnlySpan<byte> value)
        => Utf8Parser.TryParse(value, out ulong seq, out int consumed) && consumed == value.Length && value.Length > 0 ? seq : null;
}
