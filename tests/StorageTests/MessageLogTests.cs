using System.Text;
using Platform.Grains.Storage;

namespace Platform.StorageTests;

public sealed class MessageLogTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private ZoneTreeMessageLog Open(bool inMemory = false, LogSyncPolicy sync = LogSyncPolicy.Interval) =>
        ZoneTreeMessageLog.Open(new MessageLogOptions { Directory = _directory.Path, InMemory = inMemory, SyncPolicy = sync });

    private static ulong Append(IMessageLog log, string subject, string payload = "data", string? headers = null, long timestamp = 0) =>
        log.Append(Encoding.UTF8.GetBytes(subject), headers is null ? default : Encoding.UTF8.GetBytes(headers), Encoding.UTF8.GetBytes(payload), timestamp);

    private static ulong SizeOf(string subject, string payload, string? headers = null) =>
        RecordCodec.StoredSize(Encoding.UTF8.GetByteCount(subject), headers is null ? 0 : Encoding.UTF8.GetByteCount(headers), Encoding.UTF8.GetByteCount(payload));

    private static List<LogRecord> ReadAll(IMessageLog log, string? filter = null, ulong from = 0)
    {
        var records = new List<LogRecord>();
        log.Read(from, int.MaxValue, 0, filter, records);
        return records;
    }

    private static ulong[] Sequences(List<LogRecord> records)
    {
        var sequences = new ulong[records.Count];
        for (int i = 0; i < records.Count; i++)
            sequences[i] = records[i].Sequence;
        return sequences;
    }

    private static ulong[] Range(ulong from, ulong to)
    {
        var sequences = new ulong[to - from + 1];
        for (ulong s = from; s <= to; s++)
            sequences[s - from] = s;
        return sequences;
    }

    /// <summary>Multiples of 5 on users.x, other odd sequences on orders.new, other even ones on orders.paid; timestamp = 10 x sequence.</summary>
    private static void AppendMix(IMessageLog log, int count)
    {
        for (int i = 1; i <= count; i++)
            Append(log, i % 5 == 0 ? "users.x" : i % 2 == 1 ? "orders.new" : "orders.paid", $"m{i}", timestamp: i * 10);
    }

    [Fact]
    public async Task A_new_log_is_empty()
    {
        await using var log = Open();
        Assert.Equal(new LogState(1, 0, 0, 0, 0, 0, 0, 0), log.State);
        Assert.Empty(ReadAll(log));
        Assert.False(log.TryGet(1, out _));
        Assert.False(log.TryGet(0, out _));
        Assert.Empty(log.DeletedSequences);
    }

    [Fact]
    public async Task Append_assigns_consecutive_sequences_and_reads_back()
    {
        await using var log = Open();
        Assert.Equal(1UL, Append(log, "orders.new", "one", timestamp: 100));
        Assert.Equal(2UL, Append(log, "orders.paid", "two", "NATS/1.0\r\nA: b\r\n\r\n", 200));
        Assert.Equal(3UL, Append(log, "orders.new", "", timestamp: 300));

        Assert.True(log.TryGet(2, out var second));
        Assert.Equal(2UL, second.Sequence);
        Assert.Equal("orders.paid", second.Subject);
        Assert.Equal("two", Encoding.UTF8.GetString(second.Payload));
        Assert.Equal("NATS/1.0\r\nA: b\r\n\r\n", Encoding.UTF8.GetString(second.Headers));
        Assert.Equal(200, second.TimestampNanos);
        Assert.False(log.TryGet(4, out _));

        var all = ReadAll(log);
        Assert.Equal(new ulong[] { 1, 2, 3 }, Sequences(all));
        Assert.True(all[2].Payload.IsEmpty);

        ulong bytes = SizeOf("orders.new", "one") + SizeOf("orders.paid", "two", "NATS/1.0\r\nA: b\r\n\r\n") + SizeOf("orders.new", "");
        Assert.Equal(new LogState(1, 3, 3, bytes, 100, 300, 2, 0), log.State);
    }

    [Fact]
    public async Task Read_filters_by_subject_with_wildcards()
    {
        await using var log = Open();
        AppendMix(log, 20);

        Assert.Equal(new ulong[] { 1, 3, 7, 9, 11, 13, 17, 19 }, Sequences(ReadAll(log, "orders.new")));
        Assert.Equal(new ulong[] { 5, 10, 15, 20 }, Sequences(ReadAll(log, "users.*")));
        Assert.Equal(new ulong[] { 5, 10, 15, 20 }, Sequences(ReadAll(log, "*.x")));
        Assert.Equal(16, ReadAll(log, "orders.>").Count);
        Assert.Equal(20, ReadAll(log, ">").Count);
        Assert.Equal(20, ReadAll(log, "").Count);
        Assert.Empty(ReadAll(log, "orders"));
        Assert.Empty(ReadAll(log, "nobody.here"));
        Assert.Equal(new ulong[] { 11, 13, 17, 19 }, Sequences(ReadAll(log, "orders.new", from: 10)));
        Assert.Empty(ReadAll(log, "orders.new", from: 20));
        Assert.Empty(ReadAll(log, from: 21));
    }

    [Fact]
    public async Task Read_honours_max_count_and_max_bytes()
    {
        await using var log = Open();
        for (int i = 1; i <= 10; i++)
            Append(log, "s", new string('x', 10 * i));

        var records = new List<LogRecord>();
        Assert.Equal(3, log.Read(4, 3, 0, null, records));
        Assert.Equal(new ulong[] { 4, 5, 6 }, Sequences(records));

        records.Clear();
        Assert.Equal(0, log.Read(1, 0, 0, null, records));

        // Exactly the first two fit; the third would cross the limit, and nothing after it is skipped to.
        long twoFit = (long)(SizeOf("s", new string('x', 10)) + SizeOf("s", new string('x', 20)));
        records.Clear();
        Assert.Equal(2, log.Read(1, 100, twoFit, null, records));
        records.Clear();
        Assert.Equal(1, log.Read(1, 100, twoFit - 1, null, records));

        // A first record larger than max bytes is not returned; the caller finds it with TryGetNextBySubject.
        records.Clear();
        Assert.Equal(0, log.Read(10, 100, 50, null, records));
        Assert.True(log.TryGetNextBySubject(10, ">", out var tooBig));
        Assert.True(tooBig.Size > 50);

        records.Clear();
        Assert.Equal(10, log.Read(1, 100, -1, null, records));
    }

    [Fact]
    public async Task Read_appends_to_the_list_it_is_given()
    {
        await using var log = Open();
        AppendMix(log, 5);
        var records = new List<LogRecord>();
        log.Read(1, 2, 0, null, records);
        log.Read(3, 2, 0, null, records);
        Assert.Equal(new ulong[] { 1, 2, 3, 4 }, Sequences(records));
    }

    [Fact]
    public async Task Last_by_subject()
    {
        await using var log = Open();
        AppendMix(log, 20);

        Assert.True(log.TryGetLastBySubject("orders.new", out var last));
        Assert.Equal(19UL, last.Sequence);
        Assert.Equal("m19", Encoding.UTF8.GetString(last.Payload));
        Assert.True(log.TryGetLastBySubject("orders.*", out last));
        Assert.Equal(19UL, last.Sequence);
        Assert.True(log.TryGetLastBySubject(">", out last));
        Assert.Equal(20UL, last.Sequence);
        Assert.False(log.TryGetLastBySubject("orders.none", out _));

        Assert.True(log.Delete(19));
        Assert.True(log.Delete(17));
        Assert.True(log.TryGetLastBySubject("orders.new", out last));
        Assert.Equal(13UL, last.Sequence);
        Assert.Equal(new SubjectState(6, 1, 13), log.GetSubjectState("orders.new"));
    }

    [Fact]
    public async Task Next_by_subject()
    {
        await using var log = Open();
        AppendMix(log, 20);

        Assert.True(log.TryGetNextBySubject(0, "users.x", out var next));
        Assert.Equal(5UL, next.Sequence);
        Assert.True(log.TryGetNextBySubject(6, "users.x", out next));
        Assert.Equal(10UL, next.Sequence);
        Assert.True(log.TryGetNextBySubject(10, "users.x", out next));
        Assert.Equal(10UL, next.Sequence);
        Assert.True(log.TryGetNextBySubject(11, "*.x", out next));
        Assert.Equal(15UL, next.Sequence);
        Assert.False(log.TryGetNextBySubject(21, "users.x", out _));
        Assert.False(log.TryGetNextBySubject(0, "nobody", out _));
        Assert.True(log.TryGetNextBySubject(7, ">", out next));
        Assert.Equal(7UL, next.Sequence);

        log.Delete(10);
        Assert.True(log.TryGetNextBySubject(6, "users.x", out next));
        Assert.Equal(15UL, next.Sequence);
    }

    [Fact]
    public async Task Subject_counts_and_states()
    {
        await using var log = Open();
        AppendMix(log, 20);

        var counts = log.SubjectCounts(">");
        Assert.Equal(3, counts.Count);
        Assert.Equal(8UL, counts["orders.new"]);
        Assert.Equal(8UL, counts["orders.paid"]);
        Assert.Equal(4UL, counts["users.x"]);

        var orders = log.SubjectCounts("orders.*");
        Assert.Equal(2, orders.Count);
        Assert.Empty(log.SubjectCounts("nobody.*"));

        Assert.Equal(new SubjectState(8, 2, 18), log.GetSubjectState("orders.paid"));
        Assert.Equal(default, log.GetSubjectState("*.p*"));
        Assert.Equal(new SubjectState(16, 1, 19), log.GetSubjectState("orders.>"));
        Assert.Equal(default, log.GetSubjectState("orders"));

        // Removing a subject's first message leaves its first to be found again on demand.
        log.Delete(2);
        log.Delete(4);
        Assert.Equal(new SubjectState(6, 6, 18), log.GetSubjectState("orders.paid"));
        Assert.Equal(6UL, log.SubjectCounts("orders.paid")["orders.paid"]);

        foreach (ulong s in new ulong[] { 5, 10, 15, 20 })
            Assert.True(log.Delete(s));
        Assert.False(log.SubjectCounts(">").ContainsKey("users.x"));
        Assert.Equal(2, log.State.NumSubjects);
    }

    [Fact]
    public async Task Delete_leaves_interior_gaps_and_moves_first()
    {
        await using var log = Open();
        AppendMix(log, 10);
        ulong fullBytes = log.State.Bytes;

        Assert.True(log.Delete(4));
        Assert.True(log.Delete(6));
        Assert.False(log.Delete(4));
        Assert.False(log.Delete(11));
        Assert.False(log.Delete(0));

        var state = log.State;
        Assert.Equal(8UL, state.Messages);
        Assert.Equal(2, state.NumDeleted);
        Assert.Equal(new ulong[] { 4, 6 }, log.DeletedSequences);
        Assert.Equal(fullBytes - SizeOf("orders.paid", "m4") - SizeOf("orders.paid", "m6"), state.Bytes);
        Assert.False(log.TryGet(4, out _));
        Assert.Equal(new ulong[] { 1, 2, 3, 5, 7, 8, 9, 10 }, Sequences(ReadAll(log)));

        // Deleting the first messages moves first past the interior gaps they now border.
        Assert.True(log.Delete(1));
        Assert.True(log.Delete(2));
        Assert.True(log.Delete(3));
        state = log.State;
        Assert.Equal(5UL, state.FirstSequence);
        Assert.Equal(50, state.FirstTimestampNanos);
        Assert.Equal(new ulong[] { 6 }, log.DeletedSequences);

        // Deleting the newest message does not take the last sequence back, as in nats-server.
        Assert.True(log.Delete(10));
        state = log.State;
        Assert.Equal(10UL, state.LastSequence);
        Assert.Equal(90, state.LastTimestampNanos);
        Assert.Equal(new ulong[] { 6, 10 }, log.DeletedSequences);
        Assert.Equal(11UL, Append(log, "after"));
    }

    [Fact]
    public async Task Deleting_everything_leaves_an_empty_log_past_the_last_sequence()
    {
        await using var log = Open();
        AppendMix(log, 3);
        Assert.True(log.Delete(2));
        Assert.True(log.Delete(3));
        Assert.True(log.Delete(1));
        Assert.Equal(new LogState(4, 3, 0, 0, 0, 0, 0, 0), log.State);
        Assert.Empty(log.DeletedSequences);
        Assert.Equal(4UL, Append(log, "again"));
    }

    [Fact]
    public async Task RemoveBelow_moves_the_floor()
    {
        await using var log = Open();
        AppendMix(log, 100);
        log.Delete(3);
        log.Delete(50);

        // A small cut subtracts what goes.
        Assert.Equal(9UL, log.RemoveBelow(11));
        var state = log.State;
        Assert.Equal(11UL, state.FirstSequence);
        Assert.Equal(89UL, state.Messages);
        Assert.Equal(110, state.FirstTimestampNanos);
        Assert.Equal(new ulong[] { 50 }, log.DeletedSequences);
        Assert.False(log.TryGet(10, out _));
        Assert.Equal(11UL, ReadAll(log)[0].Sequence);
        Assert.Equal(11UL, ReadAll(log, from: 2)[0].Sequence);
        Assert.Equal(new SubjectState(17, 15, 100), log.GetSubjectState("users.x"));

        // A large cut recounts what stays.
        Assert.Equal(79UL, log.RemoveBelow(91));
        state = log.State;
        Assert.Equal(new LogState(91, 100, 10, state.Bytes, 910, 1000, 3, 0), state);
        Assert.Equal(ExpectedBytes(log), state.Bytes);
        Assert.Equal(new SubjectState(4, 91, 99), log.GetSubjectState("orders.new"));
        Assert.Equal(0UL, log.RemoveBelow(50));

        // Past the end: empty, and the cut becomes the next sequence (nats-server's compact).
        Assert.Equal(10UL, log.RemoveBelow(200));
        Assert.Equal(new LogState(200, 199, 0, 0, 0, 0, 0, 0), log.State);
        Assert.Equal(200UL, Append(log, "next"));
    }

    [Fact]
    public async Task Purge_everything()
    {
        await using var log = Open();
        AppendMix(log, 10);
        log.Delete(5);
        Assert.Equal(9UL, log.Purge(null, 0, 0));
        Assert.Equal(new LogState(11, 10, 0, 0, 0, 0, 0, 0), log.State);
        Assert.Empty(ReadAll(log));
        Assert.Empty(log.SubjectCounts(">"));
        Assert.Equal(0UL, log.Purge(">", 0, 0));
        Assert.Equal(11UL, Append(log, "after"));
        Assert.Equal(1UL, log.Purge(">", 0, 0));
        Assert.Equal(new LogState(12, 11, 0, 0, 0, 0, 0, 0), log.State);
    }

    [Fact]
    public async Task Purge_by_subject()
    {
        await using var log = Open();
        AppendMix(log, 20);
        Assert.Equal(8UL, log.Purge("orders.paid", 0, 0));
        Assert.Equal(12UL, log.State.Messages);
        Assert.Empty(ReadAll(log, "orders.paid"));
        Assert.False(log.SubjectCounts(">").ContainsKey("orders.paid"));
        Assert.Equal(1UL, log.State.FirstSequence);
        Assert.Equal(new ulong[] { 2, 4, 6, 8, 12, 14, 16, 18 }, log.DeletedSequences);
        Assert.Equal(ExpectedBytes(log), log.State.Bytes);

        Assert.Equal(4UL, log.Purge("*.x", 0, 0));
        Assert.Equal(new LogState(1, 20, 8, log.State.Bytes, 10, 190, 1, 12), log.State);
        Assert.Equal(0UL, log.Purge("nobody", 0, 0));
    }

    [Fact]
    public async Task Purge_below_a_sequence()
    {
        await using var log = Open();
        AppendMix(log, 20);
        Assert.Equal(3UL, log.Purge("orders.new", 9, 0));
        Assert.Equal(new SubjectState(5, 9, 19), log.GetSubjectState("orders.new"));

        Assert.Equal(2UL, log.Purge(null, 5, 0));
        Assert.Equal(5UL, log.State.FirstSequence);
        Assert.Equal(new ulong[] { 7 }, log.DeletedSequences);
        Assert.Equal(ExpectedBytes(log), log.State.Bytes);
    }

    [Fact]
    public async Task Purge_keeping_the_newest()
    {
        await using var log = Open();
        AppendMix(log, 20);
        log.Delete(19);

        Assert.Equal(5UL, log.Purge("orders.new", 0, 2));
        Assert.Equal(new ulong[] { 13, 17 }, Sequences(ReadAll(log, "orders.new")));
        Assert.Equal(0UL, log.Purge("orders.new", 0, 2));
        Assert.Equal(0UL, log.Purge("orders.new", 0, 5));

        // Without a filter, keep counts live messages: 19 is deleted, so 17, 18 and 20 stay.
        ulong before = log.State.Messages;
        ulong removed = log.Purge(null, 0, 3);
        Assert.Equal(before - 3, removed);
        Assert.Equal(new ulong[] { 17, 18, 20 }, Sequences(ReadAll(log)));
        Assert.Equal(17UL, log.State.FirstSequence);
        Assert.Equal(new ulong[] { 19 }, log.DeletedSequences);
        Assert.Equal(ExpectedBytes(log), log.State.Bytes);
    }

    [Fact]
    public async Task Purge_keep_with_a_bound_takes_the_stricter()
    {
        await using var log = Open();
        AppendMix(log, 20);
        Assert.Equal(3UL, log.Purge("users.x", 16, 1));
        Assert.Equal(new ulong[] { 20 }, Sequences(ReadAll(log, "users.x")));
        Assert.Equal(4UL, log.Purge(null, 5, 2));
        Assert.Equal(6UL, log.State.FirstSequence);
    }

    [Fact]
    public async Task SetNextSequence_on_an_empty_log()
    {
        await using (var log = Open())
        {
            log.SetNextSequence(1000);
            Assert.Equal(new LogState(1000, 999, 0, 0, 0, 0, 0, 0), log.State);
            Assert.Throws<ArgumentOutOfRangeException>(() => log.SetNextSequence(10));
        }
        await using (var log = Open())
        {
            Assert.Equal(new LogState(1000, 999, 0, 0, 0, 0, 0, 0), log.State);
            Assert.Equal(1000UL, Append(log, "first"));
            Assert.Throws<InvalidOperationException>(() => log.SetNextSequence(2000));
            log.Purge(null, 0, 0);
            Assert.Throws<ArgumentOutOfRangeException>(() => log.SetNextSequence(1000));
            log.SetNextSequence(1001);
            log.SetNextSequence(5000);
            Assert.Equal(5000UL, Append(log, "second"));
        }
    }

    [Fact]
    public async Task Bytes_is_the_sum_of_live_sizes()
    {
        await using var log = Open();
        var random = new Random(7);
        for (int i = 0; i < 500; i++)
        {
            string subject = "s." + random.Next(10);
            string payload = new('p', random.Next(0, 300));
            string? headers = random.Next(3) == 0 ? "NATS/1.0\r\nX: " + new string('h', random.Next(50)) + "\r\n\r\n" : null;
            Append(log, subject, payload, headers);
        }
        for (int i = 0; i < 50; i++)
            log.Delete((ulong)random.Next(1, 501));
        log.Purge("s.3", 0, 0);
        log.RemoveBelow(40);
        Assert.Equal(ExpectedBytes(log), log.State.Bytes);

        ulong ofRecords = 0;
        foreach (var record in ReadAll(log))
        {
            ulong expected = RecordCodec.StoredSize(record.SubjectBytes.Length, record.Headers.Length, record.Payload.Length);
            Assert.Equal(expected, record.Size);
            ofRecords += record.Size;
        }
        Assert.Equal(ofRecords, log.State.Bytes);
    }

    [Fact]
    public async Task Reopening_rebuilds_the_same_state()
    {
        LogState state;
        ulong[] deleted;
        IReadOnlyDictionary<string, ulong> counts;
        await using (var log = Open())
        {
            AppendMix(log, 1000);
            log.RemoveBelow(101);
            log.Delete(500);
            log.Delete(501);
            log.Purge("users.x", 700, 0);
            log.Delete(1000);
            log.Delete(999);
            state = log.State;
            deleted = [.. log.DeletedSequences];
            counts = log.SubjectCounts(">");
        }
        await using (var log = Open())
        {
            Assert.Equal(state, log.State);
            Assert.Equal(deleted, log.DeletedSequences);
            Assert.Equal(counts, log.SubjectCounts(">"));
            Assert.Equal(ExpectedBytes(log), log.State.Bytes);
            Assert.Equal(1000UL, log.State.LastSequence);
            Assert.Equal(101UL, log.State.FirstSequence);
            Assert.False(log.TryGet(100, out _));
            Assert.False(log.TryGet(500, out _));
            Assert.Equal(new SubjectState(60, 700, 995), log.GetSubjectState("users.x"));
            Assert.Equal(1001UL, Append(log, "after.restart"));
        }
    }

    [Fact]
    public async Task Reopening_after_a_full_purge_keeps_the_sequence()
    {
        await using (var log = Open())
        {
            AppendMix(log, 10);
            log.Purge(null, 0, 0);
        }
        await using (var log = Open())
        {
            Assert.Equal(new LogState(11, 10, 0, 0, 0, 0, 0, 0), log.State);
            Assert.Equal(11UL, Append(log, "x"));
        }
    }

    [Fact]
    public async Task Reopening_a_large_log_that_went_through_merges()
    {
        const int count = 250_000;
        var payload = new byte[40];
        LogState state;
        await using (var log = Open())
        {
            for (ulong i = 1; i <= count; i++)
            {
                await log.WaitForCapacityAsync();
                log.Append("big.s"u8, default, payload, (long)i);
            }
            log.RemoveBelow(100_001);
            for (ulong s = 150_000; s < 150_100; s++)
                log.Delete(s);
            state = log.State;
        }
        await using (var log = Open())
        {
            Assert.Equal(state, log.State);
            Assert.Equal(new LogState(100_001, count, 149_900, 149_900UL * (22 + 5 + 40 + 8), 100_001, count, 1, 100), log.State);
            var records = new List<LogRecord>();
            Assert.Equal(1000, log.Read(149_500, 1000, 0, null, records));
            Assert.Equal(149_499UL + 1000 + 100, records[^1].Sequence);
        }
    }

    [Fact]
    public async Task Messages_larger_than_a_wal_chunk_survive_a_restart()
    {
        var big = new byte[20 << 20];
        new Random(5).NextBytes(big);
        await using (var log = Open())
        {
            Append(log, "before");
            log.Append("big"u8, default, big, 1);
            Append(log, "after");
        }
        await using (var log = Open())
        {
            Assert.Equal(3UL, log.State.Messages);
            Assert.True(log.TryGet(2, out var record));
            Assert.True(record.Payload.SequenceEqual(big));
        }
    }

    [Fact]
    public async Task A_large_purge_gives_disk_space_back()
    {
        // Incompressible payloads, or the disk segments would be too small to tell.
        var payload = new byte[200];
        var random = new Random(3);
        await using var log = Open();
        for (int i = 0; i < 200_000; i++)
        {
            await log.WaitForCapacityAsync();
            random.NextBytes(payload);
            log.Append("space"u8, default, payload, i);
        }
        long before = DirectorySize(_directory.Path);

        Assert.Equal(190_000UL, log.RemoveBelow(190_001));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        long after;
        while ((after = DirectorySize(_directory.Path)) > before / 4)
        {
            // The listing is made only on failure: the engine deletes files while it is enumerated.
            if (DateTime.UtcNow >= deadline)
                Assert.Fail($"still {after} bytes on disk of {before}: {FileSizes(_directory.Path)}");
            await Task.Delay(50);
        }
        Assert.Equal(10_000, ReadAll(log).Count);
    }

    private static string FileSizes(string path) => string.Join(", ", Files(path).Select(f => $"{f.Name}={f.Length}"));

    private static long DirectorySize(string path) => Files(path).Sum(f => f.Length);

    /// <summary>The files under <paramref name="path"/> with their sizes, leaving out those deleted while listed.</summary>
    private static List<(string Name, long Length)> Files(string path)
    {
        var files = new List<(string, long)>();
        foreach (var file in new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            try
            {
                files.Add((file.Name, file.Length));
            }
            catch (FileNotFoundException)
            {
            }
        }
        return files;
    }

    [Fact]
    public async Task Memory_storage_loses_everything_on_reopen()
    {
        await using (var log = Open(inMemory: true))
        {
            AppendMix(log, 100);
            log.Delete(50);
            Assert.Equal(99UL, log.State.Messages);
            Assert.True(Directory.Exists(Path.Combine(_directory.Path, "memory.tmp")));
        }
        Assert.False(Directory.Exists(Path.Combine(_directory.Path, "memory.tmp")));
        await using (var log = Open(inMemory: true))
        {
            Assert.Equal(new LogState(1, 0, 0, 0, 0, 0, 0, 0), log.State);
            Assert.Equal(1UL, Append(log, "fresh"));
        }
    }

    [Fact]
    public async Task Always_commits_complete_for_concurrent_writers()
    {
        await using var log = Open(sync: LogSyncPolicy.Always);
        var writers = new Task[8];
        for (int w = 0; w < writers.Length; w++)
        {
            writers[w] = Task.Run(async () =>
            {
                for (int i = 0; i < 200; i++)
                {
                    Append(log, "w", "x");
                    await log.CommitAsync();
                }
            });
        }
        await Task.WhenAll(writers);
        Assert.Equal(1600UL, log.State.Messages);
    }

    [Fact]
    public async Task Capacity_is_available_on_a_fresh_log()
    {
        await using var log = Open();
        Assert.True(log.WaitForCapacityAsync().IsCompletedSuccessfully);
        Assert.True(log.CommitAsync().IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_second_open_of_the_same_directory_fails()
    {
        await using var log = Open();
        Assert.ThrowsAny<IOException>(() => Open());
    }

    [Fact]
    public async Task Readers_see_consistent_ranges_while_a_writer_appends()
    {
        await using var log = Open();
        var writer = Task.Run(() =>
        {
            for (int i = 0; i < 30_000; i++)
                Append(log, i % 2 == 0 ? "even" : "odd", "x");
        });
        var reader = Task.Run(() =>
        {
            var records = new List<LogRecord>();
            int reads = 0;
            while (!writer.IsCompleted || reads < 10)
            {
                records.Clear();
                ulong from = log.State.LastSequence > 500 ? log.State.LastSequence - 500 : 1;
                log.Read(from, 200, 0, null, records);
                for (int i = 1; i < records.Count; i++)
                    Assert.Equal(records[i - 1].Sequence + 1, records[i].Sequence);
                reads++;
            }
        });
        await Task.WhenAll(writer, reader);
        Assert.Equal(30_000UL, log.State.Messages);
    }

    [Fact]
    public async Task Disposed_logs_refuse_work()
    {
        var log = Open();
        await log.DisposeAsync();
        await log.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => Append(log, "x"));
        Assert.Throws<ObjectDisposedException>(() => log.Delete(1));
        Assert.Throws<ObjectDisposedException>(() => ReadAll(log));
    }

    private static ulong ExpectedBytes(IMessageLog log)
    {
        ulong bytes = 0;
        foreach (var record in ReadAll(log))
            bytes += record.Size;
        return bytes;
    }
}
