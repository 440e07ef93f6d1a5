using System.Net.Sockets;
using System.Text;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>A bare TCP client for byte-level protocol tests: send a script, collect what the server answers.</summary>
public static class RawClient
{
    /// <summary>
    /// Connects, reads the INFO line, sends <paramref name="script"/>, and collects the answer until the server closes,
    /// it has answered every PING of the script with a PONG, or <paramref name="quiet"/> passes without a byte.
    /// Returns the INFO line and the rest, with "&lt;EOF&gt;" appended when the server closed the connection.
    /// </summary>
    public static Task<(string Info, string Answer)> ExchangeAsync(int port, string script, TimeSpan? quiet = null)
        => ExchangeAsync(port, [script], quiet);

    /// <summary>
    /// As <see cref="ExchangeAsync(int, string, TimeSpan?)"/>, writing the script in parts with a pause between them,
    /// so the server reads each part on its own (a control line split across reads, for instance).
    /// </summary>
    public static async Task<(string Info, string Answer)> ExchangeAsync(int port, IReadOnlyList<string> parts, TimeSpan? quiet = null)
    {
        var script = string.Concat(parts);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var stream = tcp.GetStream();
        var received = new StringBuilder();
        var buffer = new byte[64 * 1024];
        using (var infoCts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            while (!received.ToString().Contains("\r\n"))
            {
                int n = await stream.ReadAsync(buffer, infoCts.Token);
                if (n == 0) break;
                received.Append(Encoding.Latin1.GetString(buffer, 0, n));
            }
        }
        var all = received.ToString();
        int eol = all.IndexOf("\r\n", StringComparison.Ordinal);
        var info = all[..(eol + 2)];
        var answer = new StringBuilder(all[(eol + 2)..]);
        try
        {
            for (int i = 0; i < parts.Count; i++)
            {
                if (i > 0)
                    await Task.Delay(50);
                await stream.WriteAsync(Encoding.Latin1.GetBytes(parts[i]));
            }
        }
        catch (IOException)
        {
        }
        var wait = quiet ?? TimeSpan.FromMilliseconds(400);
        // A script that ends with PING is owed at least a PONG: its first answer may take longer than the quiet
        // period on a loaded machine (CI once saw a silo answer nothing within 400 ms while other tests ran).
        var firstWait = script.EndsWith("PING\r\n", StringComparison.Ordinal) ? wait + TimeSpan.FromSeconds(3) : wait;
        // Counted rather than "ends with PONG": a script with more after its first PING is not answered once a read
        // happens to end at that PONG (a server may write the rest a moment later).
        int pings = Occurrences(script, "PING\r\n");
        while (true)
        {
            using var cts = new CancellationTokenSource(answer.Length == 0 ? firstWait : wait);
            int n;
            try
            {
                n = await stream.ReadAsync(buffer, cts.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (IOException)
            {
                answer.Append("<EOF>");
                break;
            }
            if (n == 0)
            {
                answer.Append("<EOF>");
                break;
            }
            answer.Append(Encoding.Latin1.GetString(buffer, 0, n));
            if (pings > 0 && Occurrences(answer.ToString(), "PONG\r\n") >= pings)
                break;
        }
        return (info, answer.ToString());
    }

    private static int Occurrences(string text, string value)
    {
        int count = 0;
        for (int at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
            count++;
        return count;
    }
}
