using System.Text;
using System.Text.Json.Serialization;
using Orleans.Concurrency;
using Platform.Grains.Consumers;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>The body of CONSUMER.MSG.NEXT: a JSON request, a bare batch size, or nothing (batch 1).</summary>
internal sealed class PullRequestBody
{
    [JsonPropertyName("batch")] public int Batch { get; set; } = 1;
    [JsonPropertyName("expires")] public long Expires { get; set; }
    [JsonPropertyName("no_wait")] public bool NoWait { get; set; }
    [JsonPropertyName("max_bytes")] public long MaxBytes { get; set; }
    [JsonPropertyName("idle_heartbeat")] public long IdleHeartbeat { get; set; }
    /// <summary>2.11: the priority group the request is made in, and an overflow request's thresholds.</summary>
    [JsonPropertyName("group")] public string? Group { get; set; }
    [JsonPropertyName("min_pending")] public long MinPending { get; set; }
    [JsonPropertyName("min_ack_pending")] public long MinAckPending { get; set; }
    /// <summary>A pinned_client group's pin id, as the pinned client's deliveries carried it (Nats-Pin-Id).</summary>
    [JsonPropertyName("id")] public string? PinId { get; set; }
    [JsonPropertyName("priority")] public int Priority { get; set; }

    /// <summary>A JSON request: only these carry a priority group, as nats-server checks groups of no other.</summary>
    [JsonIgnore] public bool IsJson { get; private set; }

    public static PullRequestBody? Parse(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body).Trim();
        if (text.Length == 0)
            return new PullRequestBody();
        if (int.TryParse(text, out var batch))
            return new PullRequestBody { Batch = Math.Max(1, batch) };
        if (!ApiResponder.TryParse(body, ApiJsonContext.Default.PullRequestBody, out var parsed) || parsed is null)
            return null;
        parsed.IsJson = true;
        return parsed;
    }
}

/// <summary>
/// Serves one pull request: fetches from the consumer grain until the batch is filled, the request expires or the
/// requester goes away, sending the status replies NATS clients act on (404, 408, 409, 100 heartbeats).
/// </summary>
/// <param name="acks">Acks the client sent right before this request, applied by its first fetch.</param>
internal sealed class PullRequest(NatsServer server, ApiResponder responder, IConsumerGrain grain, DeliveryWriter writer,
    string reply, PullRequestBody body, bool original, AckOp[] acks)
{
    /// <summary>Without expires a request waits until filled; this is how often it checks the requester is still there.</summary>
    private static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(5);

    public async Task ServeAsync()
    {
        var replyBytes = Encoding.Latin1.GetBytes(reply);
        int remaining = Math.Max(1, body.Batch);
        long bytesLeft = body.MaxBytes;
        long deadline = body.Expires > 0 ? Environment.TickCount64 + body.Expires / 1_000_000 : long.MaxValue;
        long heartbeat = body.IdleHeartbeat / 1_000_000;
        long lastSent = Environment.TickCount64;
        bool deliveredAny = false;
        ulong lastStream = 0, lastConsumer = 0;
        var pacer = original ? new ReplayPacer() : null;
        var carried = acks.Length > 0 ? new Immutable<AckOp[]>(acks) : AckOp.None;
        var overflow = new OverflowThresholds(body.MinPending, body.MinAckPending);
        var pin = new PinRequest(body.IsJson ? body.Group : null, body.PinId, First: true, DateTime.UtcNow.Ticks);
        while (true)
        {
            long now = Environment.TickCount64;
            long wait = body.NoWait ? 0 : Math.Min(deadline - now, (long)LongPoll.TotalMilliseconds);
            if (heartbeat > 0)
                wait = Math.Min(wait, Math.Max(1, heartbeat - (now - lastSent)));
            // Original replay paces message by message, so it fetches them one at a time.
            var batch = (await grain.Fetch(pacer is null ? remaining : 1, body.MaxBytes > 0 ? bytesLeft : 0, TimeSpan.FromMilliseconds(Math.Max(0, wait)), carried,
                overflow, pin)).Value;
            carried = AckOp.None;
            // Pinned by this fetch, the request goes on as the pinned client; its later fetches are no admission.
            pin = pin with { Id = batch.PinId ?? pin.Id, First = false };
            if (batch.Status == FetchStatus.Deleted)
            {
                responder.SendStatus(reply, "409 Consumer Deleted");
                return;
            }
            if (batch.Status == FetchStatus.PinIdMismatch)
            {
                responder.SendStatus(reply, "423 Nats-Pin-Id mismatch");
                return;
            }
            if (batch.Status == FetchStatus.WrongPinId)
            {
                responder.SendStatus(reply, "423 Nats-Wrong-Pin-Id", Pending(remaining, bytesLeft));
                return;
            }
            if (batch.Status == FetchStatus.TooLarge)
            {
                responder.SendStatus(reply, "409 Message Size Exceeds MaxBytes", Pending(remaining, bytesLeft));
                return;
            }
            if (pacer is not null)
                await pacer.PaceAsync(batch);
            long bytes = writer.Write(replyBytes, batch);
            if (batch.Count > 0)
            {
                remaining -= batch.Count;
                bytesLeft -= bytes;
                deliveredAny = true;
                lastSent = Environment.TickCount64;
                lastStream = batch.LastStreamSeq;
                lastConsumer = batch.LastConsumerSeq;
                if (remaining <= 0)
                    return;
                if (body.MaxBytes > 0 && bytesLeft <= 0)
                    return;
            }
            now = Environment.TickCount64;
            if (body.NoWait)
            {
                if (deliveredAny)
                    responder.SendStatus(reply, "408 Request Timeout", Pending(remaining, bytesLeft));
                else
                    responder.SendStatus(reply, "404 No Messages");
                return;
            }
            if (now >= deadline)
            {
                responder.SendStatus(reply, "408 Request Timeout", Pending(remaining, bytesLeft));
                return;
            }
            if (!server.Router.HasInterest(replyBytes))
                return;
            if (heartbeat > 0 && now - lastSent >= heartbeat)
            {
                responder.SendStatus(reply, "100 Idle Heartbeat", $"Nats-Last-Consumer: {lastConsumer}\r\nNats-Last-Stream: {lastStream}\r\n");
                lastSent = now;
            }
        }
    }

    private static string Pending(int messages, long bytes) => $"Nats-Pending-Messages: {messages}\r\nNats-Pending-Bytes: {Math.Max(0, bytes)}\r\n";
}
