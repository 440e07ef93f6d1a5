using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Platform.Grains.Sourcing;

/// <summary>
/// The Nats-Stream-Source header a sourced message carries: "&lt;source index name&gt; &lt;origin sequence&gt;", added after the
/// message's own headers as nats-server adds it. A stream finds where each source left off by reading it back.
/// </summary>
internal static class SourceHeader
{
    public const string HeaderName = "Nats-Stream-Source";
    private static ReadOnlySpan<byte> Name => "Nats-Stream-Source"u8;

    /// <summary>Writes <paramref name="headers"/> with the header added into <paramref name="into"/>.</summary>
    public static void Write(ReadOnlySpan<byte> headers, byte[] indexName, ulong sequence, IBufferWriter<byte> into)
    {
        if (headers.Length >= 4 && headers.EndsWith("\r\n\r\n"u8))
            into.Write(headers[..^2]);
        else
            into.Write("NATS/1.0\r\n"u8);
        into.Write(Name);
        into.Write(": "u8);
        into.Write(indexName);
        into.Write(" "u8);
        var digits = into.GetSpan(20);
        Utf8Formatter.TryFormat(sequence, digits, out int written);
        into.Advance(written);
        into.Write("\r\n\r\n"u8);
    }

    /// <summary>The source index name and origin sequence of a message's header, if it has one.</summary>
    public static bool TryRead(ReadOnlySpan<byte> headers, out string indexName, out ulong sequence)
    {
        indexName = "";
        sequence = 0;
        int at = headers.IndexOf(Name);
        if (at < 0)
            return false;
        var line = headers[(at + Name.Length)..];
        int eol = line.IndexOf("\r\n"u8);
        if (eol >= 0)
            line = line[..eol];
        if (line.IsEmpty || line[0] != (byte)':')
            return false;
        line = line[1..].Trim((byte)' ');
        int space = line.LastIndexOf((byte)' ');
        if (space <= 0 || !Utf8Parser.TryParse(line[(space + 1)..], out sequence, out int consumed) || consumed != line.Length - space - 1)
            return false;
        indexName = Encoding.UTF8.GetString(line[..space]);
        return true;
    }
}
