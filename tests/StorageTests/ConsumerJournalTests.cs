using Platform.Grains.Consumers;

namespace Platform.StorageTests;

/// <summary>
/// The consumer journal on disk: records come back in order, a torn tail ends the replay instead of corrupting it,
/// and a journal of another snapshot generation is not replayed.
/// </summary>
public sealed class ConsumerJournalTests
{
    [Fact]
    public void Records_come_back_in_order_and_a_torn_tail_is_dropped()
    {
        using var directory = new TempDirectory();
        using (var journal = ConsumerJournal.Open(directory.Path, syncAlways: false))
        {
            journal.Reset(7);
            journal.BeginDelivered(cursor: 11, deliveredConsumerSeq: 10, deliveredStreamSeq: 10);
            journal.AddDelivery(9, 9, 1, 1_000);
            journal.AddDelivery(10, 10, 2, 2_000);
            journal.EndRecord();
            journal.BeginAcked();
            journal.AddAck(AckKind.Ack, 9);
            journal.AddAck(AckKind.Term, 10);
            journal.EndRecord();
            journal.BeginAcked();
            journal.AddAck(AckKind.Ack, 12);
            journal.EndRecord();
        }
        var path = Path.Combine(directory.Path, ConsumerJournal.FileName);
        // A power loss tore the last record: its final byte never reached the disk.
        using (var file = new FileStream(path, FileMode.Open))
            file.SetLength(file.Length - 1);

        var records = ConsumerJournal.Read(directory.Path, 7);

        Assert.Equal(2, records.Count);
        var delivered = Assert.IsType<JournalDelivered>(records[0]);
        Assert.Equal((11ul, 10ul, 10ul), (delivered.Cursor, delivered.DeliveredConsumerSeq, delivered.DeliveredStreamSeq));
        Assert.Equal([new JournalDelivery(9, 9, 1, 1_000), new JournalDelivery(10, 10, 2, 2_000)], delivered.Deliveries);
        var acked = Assert.IsType<JournalAcked>(records[1]);
        Assert.Equal([(AckKind.Ack, 9ul), (AckKind.Term, 10ul)], acked.Acks.Select(a => (a.Kind, a.StreamSeq)));
    }

    [Fact]
    public void A_journal_of_another_generation_or_with_a_bad_checksum_is_not_replayed()
    {
        using var directory = new TempDirectory();
        using (var journal = ConsumerJournal.Open(directory.Path, syncAlways: true))
        {
            journal.Reset(3);
            journal.BeginAcked();
            journal.AddAck(AckKind.Ack, 5);
            journal.EndRecord();
        }
        // The snapshot of generation 4 was written but the crash came before the journal was emptied.
        Assert.Empty(ConsumerJournal.Read(directory.Path, 4));
        Assert.Single(ConsumerJournal.Read(directory.Path, 3));

        var path = Path.Combine(directory.Path, ConsumerJournal.FileName);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        Assert.Empty(ConsumerJournal.Read(directory.Path, 3));
    }

    [Fact]
    public async Task Reset_empties_the_journal_and_durable_commits_complete()
    {
        using var directory = new TempDirectory();
        using var journal = ConsumerJournal.Open(directory.Path, syncAlways: true);
        journal.Reset(1);
        journal.BeginAcked();
        journal.AddAck(AckKind.Ack, 1);
        journal.EndRecord();
        await journal.CommitAsync();
        journal.Reset(2);
        journal.BeginAcked();
        journal.AddAck(AckKind.Ack, 2);
        journal.EndRecord();
        await journal.CommitAsync();

        var records = ConsumerJournal.Read(directory.Path, 2);
        Assert.Equal(2ul, Assert.IsType<JournalAcked>(Assert.Single(records)).Acks[0].StreamSeq);
    }
}
