using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// A stream that republishes into a KV bucket's subjects, read through NATS.Net's KV (direct get, watch): the
/// republished messages are publishes like any other, so the bucket's stream stores them with the Nats-* headers
/// the republish added, and a KV get finds them. Differential against nats-server 2.9.10, which has republish and
/// direct get.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class KvRepublishTests(ServersFixture servers)
{
    /// <summary>Times differ between runs; 2.9.10 does not send Nats-Time-Stamp on republished messages.</summary>
    private const string TimeStamp = "Nats-Time-Stamp";

    private sealed record Outcome(string[] Entries, ulong[] Revisions, string[] StoredHeaders, long Stored, string[] Watched);

    private static async Task<Outcome> RunAsync(string url, string id)
    {
        var bucket = "sb" + id;
        await using var nats = new NatsConnection(new NatsOpts { Url = url });
        var js = nats.CreateJetStreamContext();
        var store = await nats.CreateKeyValueStoreContext().CreateStoreAsync(bucket);
        await js.CreateStreamAsync(new StreamConfig(bucket, [$"t{id}.>"]) { Republish = new Republish { Src = ">", Dest = $"$KV.{bucket}.>" } });

        await nats.PublishAsync($"t{id}.one", "uno");
        (await js.PublishAsync($"t{id}.two", "dos")).EnsureSuccess();
        // nats-server has stored both republished messages by the time it acks "two"; the silo stores them after its
        // ack, so a put right away could come first (README, Republish). The revisions compared below need them first.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var entries = new List<NatsKVEntry<string>>();
        foreach (var key in (string[])[$"t{id}.one", $"t{id}.two"])
            entries.Add(await EntryAsync(key));
        await store.PutAsync($"t{id}.three", "tres");
        entries.Add(await EntryAsync($"t{id}.three"));

        async Task<NatsKVEntry<string>> EntryAsync(string key)
        {
            NatsResult<NatsKVEntry<string>> entry;
            while (!(entry = await store.TryGetEntryAsync<string>(key)).Success && DateTime.UtcNow < deadline)
                await Task.Delay(20);
            Assert.True(entry.Success, $"{key}: {(entry.Success ? null : entry.Error.Message)}");
            return entry.Value;
        }

        // What the bucket's stream holds for a republished key: its headers as a direct get returns them.
        var kvStream = await js.GetStreamAsync("KV_" + bucket);
        var raw = await kvStream.GetDirectAsync<string>(new StreamMsgGetRequest { LastBySubj = $"$KV.{bucket}.t{id}.one" });
        var headers = raw.Headers!.Where(h => h.Key != TimeStamp)
            .Select(h => $"{h.Key}={string.Join(",", h.Value.ToArray())}".Replace(id, "{id}")).Order(StringComparer.Ordinal).ToArray();

        var watched = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var e in store.WatchAsync<string>(cancellationToken: timeout.Token))
        {
            watched.Add($"{e.Key.Replace(id, "{id}")}={e.Value}");
            if (e.Delta == 0)
                break;
        }

        long stored = (await js.GetStreamAsync("KV_" + bucket)).Info.State.Messages;
        await js.DeleteStreamAsync(bucket);
        await js.DeleteStreamAsync("KV_" + bucket);
        return new Outcome(
            [.. entries.Select(e => $"{e.Bucket.Replace(id, "{id}")}/{e.Key.Replace(id, "{id}")}={e.Value} {e.Operation}")],
            [.. entries.Select(e => e.Revision).Order()],
            headers, stored, [.. watched.Order(StringComparer.Ordinal)]);
    }

    [SkippableFact]
    public async Task A_kv_get_finds_what_another_stream_republished_into_the_bucket_as_on_nats_server()
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        var id = Guid.NewGuid().ToString("N")[..6];
        var expected = await RunAsync(servers.Reference!.Url, id);
        var actual = await RunAsync(servers.Silo.Url, id);
        Assert.Equal(expected.Entries, actual.Entries);
        Assert.Equal(expected.Revisions, actual.Revisions);
        Assert.Equal(expected.StoredHeaders, actual.StoredHeaders);
        Assert.Equal(expected.Stored, actual.Stored);
        Assert.Equal(expected.Watched, actual.Watched);
    }

    private static async Task<List<string>> RunBucketRepublishAsync(string url, string id, bool headersOnly)
    {
        var bucket = "rb" + id;
        await using var nats = new NatsConnection(new NatsOpts { Url = url });
        var kv = nats.CreateKeyValueStoreContext();
        var seen = new List<string>();
        await using var sub = await nats.SubscribeCoreAsync<string>($"rp{id}.>");
        await nats.PingAsync();
        var store = await kv.CreateStoreAsync(new NatsKVConfig(bucket)
        {
            History = 5,
            Republish = new NatsKVRepublish { Src = ">", Dest = $"rp{id}.>", HeadersOnly = headersOnly },
        });
        var first = await store.PutAsync("k1", "a");
        await store.PutAsync("k2", "b");
        await store.UpdateAsync("k1", "c", first);
        await store.DeleteAsync("k2");
        await store.PurgeAsync("k1");

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var msg in sub.Msgs.ReadAllAsync(timeout.Token))
        {
            var headers = msg.Headers is null ? "" : string.Join(";", msg.Headers.Where(h => h.Key != TimeStamp)
                .OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => $"{h.Key}={string.Join(",", h.Value.ToArray())}"));
            seen.Add($"{msg.Subject} [{headers}] {msg.Data}".Replace(id, "{id}"));
            if (seen.Count == 5)
                break;
        }
        // The bucket as a KV client reads it afterwards, through direct get.
        foreach (var key in (string[])["k1", "k2"])
        {
            var entry = await store.TryGetEntryAsync<string>(key);
            seen.Add(entry.Success ? $"{key}={entry.Value.Value}" : $"{key}: {entry.Error.GetType().Name}");
        }
        await kv.DeleteStoreAsync(bucket);
        return seen;
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_bucket_that_republishes_sends_puts_deletes_and_purges_with_nats_server_headers(bool headersOnly)
    {
        Skip.If(servers.Reference is null, NatsServerProcess.SkipReason);
        var id = Guid.NewGuid().ToString("N")[..6];
        var expected = await RunBucketRepublishAsync(servers.Reference!.Url, id, headersOnly);
        var actual = await RunBucketRepublishAsync(servers.Silo.Url, id, headersOnly);
        Assert.Equal(7, expected.Count);
        Assert.Equal(expected, actual);
    }
}
