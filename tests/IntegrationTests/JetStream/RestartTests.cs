using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// The durability contract seen by a client: what was acknowledged is there after a restart, graceful or SIGKILL,
/// with the same sequences and no holes.
/// </summary>
public sealed class RestartTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task Acknowledged_messages_survive_a_restart(bool kill, bool syncAlways)
    {
        var args = await JetStreamSteps.SyncArgsAsync(syncAlways);
        var silo = await SiloProcess.StartAsync(extraArgs: args);
        var acked = new List<(ulong Seq, string Subject, string Data)>();
        await using (var nats = new NatsConnection(new NatsOpts { Url = silo.Url }))
        {
            var js = nats.CreateJetStreamContext();
            await js.CreateStreamAsync(new StreamConfig("DURABLE", ["durable.>"]) { AllowDirect = true });
            await js.CreateStreamAsync(new StreamConfig("SECOND", ["second"]));
            for (int i = 0; i < 300; i++)
            {
                var subject = $"durable.{i % 7}";
                var ack = await js.PublishAsync(subject, $"payload-{i}");
                ack.EnsureSuccess();
                acked.Add((ack.Seq, subject, $"payload-{i}"));
            }
            (await js.PublishAsync("second", "only")).EnsureSuccess();
        }
        await using var restarted = await JetStreamSteps.RestartAsync(silo, kill, args);
        await using var client = new NatsConnection(new NatsOpts { Url = restarted.Url });
        var context = client.CreateJetStreamContext();
        var names = new List<string>();
        await foreach (var n in context.ListStreamNamesAsync())
            names.Add(n);
        Assert.Equal(new[] { "DURABLE", "SECOND" }, names.Order());

        var stream = await context.GetStreamAsync("DURABLE");
        Assert.Equal(300, stream.Info.State.Messages);
        Assert.Equal(1ul, stream.Info.State.FirstSeq);
        Assert.Equal(300ul, stream.Info.State.LastSeq);
        foreach (var (seq, subject, data) in acked)
        {
            var msg = await stream.GetAsync(new StreamMsgGetRequest { Seq = seq });
            Assert.Equal(subject, msg.Message.Subject);
            Assert.Equal(data, System.Text.Encoding.UTF8.GetString(msg.Message.Data.Span));
        }
        // The stream keeps counting from where it was: sequences never repeat.
        var next = await context.PublishAsync("durable.after", "after restart");
        Assert.Equal(301ul, next.Seq);
        var last = await stream.GetDirectAsync<string>(new StreamMsgGetRequest { LastBySubj = "durable.3" });
        Assert.Equal(acked.Last(a => a.Subject == "durable.3").Data, last.Data);
    }
}
