using NATS.Client.JetStream;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>Steps the retention and restart tests share: drain-and-ack a pull consumer, wait for a stream's count.</summary>
internal static class JetStreamSteps
{
    /// <summary>Fetches up to <paramref name="max"/> messages (2 s) and double-acks each; returns how many were acked.</summary>
    public static async Task<int> FetchAndAckAsync(INatsJSConsumer consumer, int max)
    {
        int acked = 0;
        await foreach (var msg in consumer.FetchAsync<int>(new NatsJSFetchOpts { MaxMsgs = max, Expires = TimeSpan.FromSeconds(2) }))
        {
            await msg.AckAsync(new AckOpts { DoubleAck = true });
            acked++;
        }
        return acked;
    }

    /// <summary>Stops the silo (SIGKILL when <paramref name="kill"/>) and starts another on its data directory.</summary>
    public static async Task<SiloProcess> RestartAsync(SiloProcess silo, bool kill, string[]? extraArgs = null)
    {
        if (kill)
            silo.Kill();
        else
            await silo.StopAsync();
        await silo.DisposeAsync();
        return await SiloProcess.StartAsync(dataDirectory: silo.DataDirectory, extraArgs: extraArgs ?? []);
    }

    /// <summary>
    /// Silo arguments for the config file route to jetstream { sync_interval: always }: every pub ack, and every
    /// AckSync answer, waits for a shared fsync. None when <paramref name="syncAlways"/> is false.
    /// </summary>
    public static async Task<string[]> SyncArgsAsync(bool syncAlways)
    {
        if (!syncAlways)
            return [];
        var config = Path.Combine(Path.GetTempPath(), $"sync-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(config, "jetstream {\n  sync_interval: always\n}\n");
        return ["-c", config];
    }

    /// <summary>
    /// The stream's message count once it equals <paramref name="expected"/>, or the last count seen after 6 s:
    /// retention removes acked messages asynchronously.
    /// </summary>
    public static async Task<long> MessagesEventuallyAsync(INatsJSContext js, string stream, long expected)
    {
        long messages = -1;
        for (int i = 0; i < 60 && messages != expected; i++)
        {
            messages = (await js.GetStreamAsync(stream)).Info.State.Messages;
            if (messages != expected)
                await Task.Delay(100);
        }
        return messages;
    }
}
