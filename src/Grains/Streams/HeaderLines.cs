namespace Platform.Grains.Streams;

/// <summary>
/// The "Key: Value" lines of a NATS/1.0 header block, after its status line, as spans into the block:
/// <c>foreach (var header in new HeaderLines(block))</c>. Lines without a key are skipped; values are trimmed of spaces.
/// </summary>
internal ref struct HeaderLines(ReadOnlySpan<byte> block)
{
    private ReadOnlySpan<byte> _rest = block.IndexOf("\r\n"u8) is var eol and >= 0 ? block[(eol + 2)..] : default;

    public HeaderLine Current { get; private set; }

    public readonly HeaderLines GetEnumerator() => this;

    public bool MoveNext()
    {
        while (!_rest.IsEmpty)
        {
            int eol = _rest.IndexOf("\r\n"u8);
            var line = eol < 0 ? _rest : _rest[..eol];
            _rest = eol < 0 ? default : _rest[(eol + 2)..];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0)
                continue;
            Current = new HeaderLine(line[..colon], line[(colon + 1)..].Trim((byte)' '));
            return true;
        }
        return false;
    }
}

internal readonly ref struct HeaderLine(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
{
    public ReadOnlySpan<byte> Key { get; } = key;
    public ReadOnlySpan<byte> Value { get; } = value;
}
