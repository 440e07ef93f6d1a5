using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.JetStream;

/// <summary>
/// A mirror and a source resume where they left off when the silo restarts (gracefully or killed): every origin
/// message is copied exactly once, in order, including what the origin received before the copies started again.
/// </summary>
public sealed class SourcingRestartTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Mirror_and_source_resume_after_a_restart_without_duplicates_or_gaps(bool kill)
    {
        var silo = await SiloProcess.StartAsync();
        await using (var nats = new NatsConnection(new NatsOpts { Url = silo.Url }))
        {
            var js = nats.CreateJetStreamContext();
            await js.CreateStreamAsync(new StreamConfig("ORIGIN", ["origin.>"]));
            await js.CreateStreamAsync(new StreamConfig { Name = "MIRROR", Mirror = new StreamSource { Name = "ORIGIN" } });
            await js.CreateStreamAsync(new StreamConfig("COPY", ["copy.own"]) { Sources = [new StreamSource { Name = "ORIGIN" }] });
            for (int i = 1; i <= 200; i++)
                (await js.PublishAsync($"origin.{i % 3}", $"m{i}")).EnsureSuccess();
            // Part of it copied, maybe not all: the restart comes while the copies run.
            await MirrorSourceTests.UntilLastSeqAsync(js, "COPY", 50);
        }
        await using var restarted = await JetStreamSteps.RestartAsync(silo, kill);
        await using var client = new NatsConnection(new NatsOpts { Url = restarted.Url });
        var context = client.CreateJetStreamContext();
        for (int i = 201; i <= 300; i++)
            (await context.PublishAsync($"origin.{i % 3}", $"m{i}")).EnsureSuccess();

        var mirror = await MirrorSourceTests.UntilLastSeqAsync(context, "MIRROR", 300);
        Assert.Equal(300, mirror.State.Messages);
        Assert.Equal(300ul, mirror.State.LastSeq);
        var copy = await MirrorSourceTests.UntilLastSeqAsync(context, "COPY", 300);
        // A little longer: a duplicate would arrive after the 300th.
        await Task.Delay(500);
        copy = (await context.GetStreamAsync("COPY")).Info;
        Assert.Equal(300, copy.State.Messages);

        var mirrorStream = await context.GetStreamAsync("MIRROR");
        var copyStream = await context.GetStreamAsync("COPY");
        for (ulong seq = 1; seq <= 300; seq++)
        {
            var mirrored = (await mirrorStream.GetAsync(new StreamMsgGetRequest { Seq = seq })).Message;
            Assert.Equal($"m{seq}", System.Text.Encoding.UTF8.GetString(mirrored.Data.Span));
            var copied = (await copyStream.GetAsync(new StreamMsgGetRequest { Seq = seq })).Message;
            Assert.Equal($"m{seq}", System.Text.Encoding.UTF8.GetString(copied.Data.Span));
        }
    }
}
