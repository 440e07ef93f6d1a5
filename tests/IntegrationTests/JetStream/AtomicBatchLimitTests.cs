using System.Text.Json.Nodes;
using NATS.Client.Core;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// nats-server's server-wide limit of 1000 open atomic batches (streamDefaultMaxAtomicBatchInflightTotal), on a silo
/// of its own so that no other test's open batches count.
/// </summary>
public sealed class AtomicBatchLimitTests
{
    [Fact]
    public async Task A_silo_holds_at_most_1000_open_batches_across_its_streams()
    {
        await using var silo = await SiloProcess.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = silo.Url });
        await nats.ConnectAsync();
        for (int s = 0; s <= 20; s++)
        {
            var created = await ApiScript.RequestAsync(nats, $"$JS.API.STREAM.CREATE.L{s}",
                $"{{\"name\":\"L{s}\",\"subjects\":[\"l{s}.>\"],\"allow_atomic\":true}}", null, TimeSpan.FromSeconds(30));
            Assert.Contains("\"allow_atomic\":true", created);
        }

        // 20 streams with the 50 each may have: 1000 in all, sent at once so that none idles for the 10 s timeout.
        var opening = new List<Task<string?>>();
        for (int s = 0; s < 20; s++)
            for (int b = 0; b < 50; b++)
                opening.Add(SendAsync(nats, s, $"b{b}", "1", commit: false));
        foreach (var reply in await Task.WhenAll(opening))
            Assert.Equal("", reply);
        var refused = await SendAsync(nats, 20, "one-more", "1", commit: false);
        var error = JsonNode.Parse(refused!)!["error"]!;
        Assert.Equal(429, (int)error["code"]!);
        Assert.Equal(10210, (int)error["err_code"]!);
        Assert.Equal("atomic publish too many inflight", (string?)error["description"]);

        // A commit frees its place.
        Assert.Contains("\"count\":2", await SendAsync(nats, 0, "b0", "2", commit: true));
        Assert.Equal("", await SendAsync(nats, 20, "one-more", "1", commit: false));
        Assert.Equal(10210, (int)JsonNode.Parse((await SendAsync(nats, 20, "two-more", "1", commit: false))!)!["error"]!["err_code"]!);
    }

    private static Task<string?> SendAsync(NatsConnection nats, int stream, string batch, string sequence, bool commit)
    {
        (string, string)[] headers = commit
            ? [("Nats-Batch-Id", batch), ("Nats-Batch-Sequence", sequence), ("Nats-Batch-Commit", "1")]
            : [("Nats-Batch-Id", batch), ("Nats-Batch-Sequence", sequence)];
        return ApiScript.RequestAsync(nats, $"l{stream}.x", "body", headers, TimeSpan.FromSeconds(5));
    }
}
