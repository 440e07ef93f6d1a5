using Platform.Load.Reporting;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Platform.Load.Scenarios;

/// <summary>
/// The JetStream scenarios' streams LOAD0..LOADn-1 over load.&lt;i&gt;.&gt;, file storage, and one durable pull
/// consumer per stream for the consuming scenarios.
/// </summary>
internal static class StreamSetup
{
    public const string ConsumerName = "LOADC";

    public static string StreamName(int index) => $"LOAD{index}";

    /// <summary>The subject publisher <paramref name="publisher"/> writes to: publishers are spread round-robin over the streams.</summary>
    public static string SubjectFor(int publisher, int streams) => $"load.{publisher % streams}.{publisher}";

    /// <summary>Creates the streams afresh: leftovers from an earlier --keep run are deleted so every run starts empty.</summary>
    public static async Task CreateAsync(INatsJSContext js, int count, int replicas, CancellationToken ct)
    {
        for (var i = 0; i < count; i++)
        {
            await DeleteIfPresentAsync(js, StreamName(i), ct);
            try
            {
                await js.CreateStreamAsync(new StreamConfig(StreamName(i), [$"load.{i}.>"]) { Storage = StreamConfigStorage.File, NumReplicas = replicas }, ct);
            }
            catch (NatsJSApiException ex)
            {
                throw new InvalidOperationException($"could not create stream {StreamName(i)}: {ex.Error.Code}/{ex.Error.ErrCode} {ex.Error.Description}", ex);
            }
        }
    }

    /// <summary>Runs a scenario body with its streams: a control connection creates them first and, unless --keep,
    /// deletes them afterwards, however the body ends.</summary>
    public static async Task<RunResult> WithStreamsAsync(ScenarioContext ctx, Func<INatsJSContext, Task<RunResult>> body)
    {
        var o = ctx.Options;
        var hard = ctx.Limits.Hard;
        await using var control = await ClientSet.OpenAsync(o, "control", 1, hard);
        var js = new NatsJSContext(control[0]);
        await CreateAsync(js, o.Streams, o.Replicas, hard);
        try
        {
            return await body(js);
        }
        finally
        {
            if (!o.Keep)
                await DeleteAsync(js, o.Streams);
        }
    }

    public static async Task DeleteAsync(INatsJSContext js, int count)
    {
        // Cleanup runs after the run's own deadline may have passed, so it gets a short budget of its own.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        for (var i = 0; i < count; i++)
        {
            try
            {
                await DeleteIfPresentAsync(js, StreamName(i), cts.Token);
            }
            catch (Exception ex)
            {
                Console.Error.WriteLine($"warning: could not delete stream {StreamName(i)}: {ex.Message}");
            }
        }
    }

    private static async Task DeleteIfPresentAsync(INatsJSContext js, string name, CancellationToken ct)
    {
        try
        {
            await js.DeleteStreamAsync(name, ct);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
        }
    }

    /// <summary>
    /// Creates the durable pull consumer with explicit acks on every stream. The server's consumer support may not
    /// exist yet, so any failure here becomes <see cref="ScenarioUnsupportedException"/> naming what the server said.
    /// </summary>
    public static async Task CreateConsumersAsync(INatsJSContext js, int streams, int maxAckPending, CancellationToken ct)
    {
        for (var i = 0; i < streams; i++)
        {
            var config = new ConsumerConfig(ConsumerName)
            {
                AckPolicy = ConsumerConfigAckPolicy.Explicit,
                DeliverPolicy = ConsumerConfigDeliverPolicy.All,
                AckWait = TimeSpan.FromSeconds(30),
                MaxAckPending = maxAckPending,
            };
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                await js.CreateOrUpdateConsumerAsync(StreamName(i), config, timeout.Token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                var what = ex is NatsJSApiException api
                    ? $"{api.Error.Code}/{api.Error.ErrCode} {api.Error.Description}"
                    : $"{ex.GetType().Name}: {ex.Message}";
                throw new ScenarioUnsupportedException(
                    $"the server's consumer API failed (CONSUMER.CREATE {StreamName(i)}.{ConsumerName}): {what}", ex);
            }
        }
    }
}
