using System.Text;
using Microsoft.Extensions.Logging;
using Platform.Grains.Consumers;
using Platform.Gateway.Server;

namespace Platform.Gateway.JetStream;

/// <summary>
/// Drives one push consumer: while someone listens on the deliver subject, fetches batches from the consumer grain
/// and writes them there, with idle heartbeats and, when configured, flow control (a 100 FlowControl Request every
/// <see cref="FlowControlBytes"/>, and no more delivery until the client answers it). It runs on the silo where the
/// consumer's grain is active, from its activation until <see cref="Stop"/> (see <see cref="PushConsumers"/>).
/// </summary>
internal sealed class PushDelivery(NatsServer server, ApiResponder responder, IConsumerGrain grain, DeliveryWriter writer,
    PlatformConsumerConfig config, ILogger logger)
{
    private const int BatchSize = 256;
    private const long FlowControlBytes = 256 * 1024;
    private static readonly TimeSpan NoInterestPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource? _flowControl;
    private string? _flowControlSubject;
    private int _flowControlCounter;

    public string FlowControlPrefix { get; } = $"$JS.FC.{writer.Stream}.{writer.Consumer}.";

    public PlatformConsumerConfig Config => config;

    public void Stop() => _stop.Cancel();

    /// <summary>The client answered a flow control request.</summary>
    public void FlowControlAnswered(string subject)
    {
        if (subject == _flowControlSubject)
            _flowControl?.TrySetResult();
    }

    /// <summary>
    /// Delivers until stopped, or until the grain says the consumer is gone (then true). A failed call is tried again:
    /// the grain stays active here until it stops this loop, so giving up would leave the consumer silent.
    /// </summary>
    public async Task<bool> RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                return await DeliverAsync();
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception ex)
            {
                logger.LogWarning("Push delivery for {Stream}/{Consumer} failed, trying again: {Reason}", writer.Stream, writer.Consumer, ex.Message);
                try
                {
                    await Task.Delay(RetryDelay, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
        return false;
    }

    private async Task<bool> DeliverAsync()
    {
        var deliverSubject = config.DeliverSubject!;
        var target = Encoding.UTF8.GetBytes(deliverSubject);
        long heartbeat = config.IdleHeartbeat / 1_000_000;
        long lastSent = Environment.TickCount64;
        long sinceFlowControl = 0;
        ulong lastStream = 0, lastConsumer = 0;
        var pacer = config.ReplayPolicy == ReplayPolicy.Original ? new ReplayPacer() : null;
        while (!_stop.IsCancellationRequested)
        {
            if (!server.Router.HasInterest(target))
            {
                await Task.Delay(NoInterestPoll, _stop.Token);
                lastSent = Environment.TickCount64;
                continue;
            }
            if (_flowControl is { } pending)
            {
                var wait = heartbeat > 0 ? TimeSpan.FromMilliseconds(heartbeat) : TimeSpan.FromSeconds(1);
                if (await Task.WhenAny(pending.Task, Task.Delay(wait, _stop.Token)) != pending.Task)
                {
                    // Still stalled: heartbeats tell the client which flow control reply the server waits for.
                    if (heartbeat > 0)
                        Heartbeat(lastConsumer, lastStream, _flowControlSubject);
                    continue;
                }
                _flowControl = null;
                sinceFlowControl = 0;
            }
            long idle = Environment.TickCount64 - lastSent;
            var fetchWait = heartbeat > 0 ? TimeSpan.FromMilliseconds(Math.Max(1, heartbeat - idle)) : TimeSpan.FromSeconds(1);
            // Original replay paces message by message, so it fetches them one at a time.
            var batch = (await grain.Fetch(pacer is null ? BatchSize : 1, 0, fetchWait, AckOp.None)).Value;
            if (pacer is not null)
                await pacer.PaceAsync(batch, _stop.Token);
            if (batch.Status == FetchStatus.Deleted)
                return true;
            sinceFlowControl += writer.Write(target, batch);
            if (batch.Count > 0)
            {
                lastSent = Environment.TickCount64;
                lastStream = batch.LastStreamSeq;
                lastConsumer = batch.LastConsumerSeq;
                if (config.FlowControl && sinceFlowControl >= FlowControlBytes)
                    RequestFlowControl(target);
            }
            else if (heartbeat > 0 && Environment.TickCount64 - lastSent >= heartbeat)
            {
                Heartbeat(lastConsumer, lastStream, null);
                lastSent = Environment.TickCount64;
            }
        }
        return false;
    }

    private void RequestFlowControl(byte[] target)
    {
        _flowControlSubject = FlowControlPrefix + (++_flowControlCounter).ToString("x4");
        _flowControl = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var header = "NATS/1.0 100 FlowControl Request\r\n\r\n"u8.ToArray();
        server.Deliver(target, target, Encoding.UTF8.GetBytes(_flowControlSubject), header.Length,
            new System.Buffers.ReadOnlySequence<byte>(header), null, null);
    }

    private void Heartbeat(ulong lastConsumer, ulong lastStream, string? stalled)
    {
        var extra = $"Nats-Last-Consumer: {lastConsumer}\r\nNats-Last-Stream: {lastStream}\r\n";
        if (stalled is not null)
            extra += $"Nats-Consumer-Stalled: {stalled}\r\n";
        responder.SendStatus(config.DeliverSubject!, "100 Idle Heartbeat", extra);
    }
}
