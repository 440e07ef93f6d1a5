using System.Text;
using Platform.Grains.Storage;
using Xunit.Abstractions;

namespace Platform.StorageTests;

/// <summary>
/// A replica must tell a damaged log from a good one before it may be promoted (issue 17). A flipped bit in a stored
/// message is found wherever the engine keeps it: in its write-ahead log the engine's block checksum refuses the open,
/// in a disk part (after a merge) <see cref="IMessageLog.FindDamage"/> names the message.
/// </summary>
public sealed class DamageTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData(1_000, true)]
    [InlineData(250_000, false)]
    public async Task A_flipped_bit_in_a_stored_message_is_found(int count, bool inWriteAheadLog)
    {
        const int Target = 777;
        await using (var log = Open())
        {
            for (int i = 1; i <= count; i++)
                log.Append("orders"u8, default, Encoding.ASCII.GetBytes(Payload(i)), i);
            await log.CommitAsync();
            Assert.Null(log.FindDamage());
        }

        var marker = Encoding.ASCII.GetBytes(Payload(Target));
        int flipped = 0;
        foreach (var file in Directory.EnumerateFiles(_directory.Path, "*", SearchOption.AllDirectories))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            int at = bytes.AsSpan().IndexOf(marker);
            if (at < 0)
                continue;
            bytes[at + marker.Length - 1] ^= 0x04;
            await File.WriteAllBytesAsync(file, bytes);
            output.WriteLine($"flipped a bit of message {Target} in {Path.GetFileName(file)} at {at + marker.Length - 1}");
            flipped++;
        }
        Assert.True(flipped > 0, "the message was not found in any file");

        if (inWriteAheadLog)
        {
            Assert.ThrowsAny<Exception>(Open);
            return;
        }
        await using (var log = Open())
        {
            Assert.Equal((ulong)count, log.State.LastSequence);
            Assert.Equal((ulong)Target, log.FindDamage());
        }
    }

    private ZoneTreeMessageLog Open() => ZoneTreeMessageLog.Open(new MessageLogOptions { Directory = _directory.Path });

    private static string Payload(int i) => $"message-{i:D7}-payload";
}
