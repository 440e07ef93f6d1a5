using System.Net.Sockets;
using System.Text;

namespace Platform.IntegrationTests.Security;

/// <summary>A raw connection kept open across several exchanges, for scripts that need two clients.</summary>
internal sealed class RawSession : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];

    private RawSession(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>Connects, reads the INFO line and sends <paramref name="connect"/> with a PING, up to its PONG.</summary>
    public static async Task<RawSession> ConnectAsync(int port, string connect)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var session = new RawSession(tcp);
        var info = await session.ReadUntilAsync("\r\n");
        if (!info.StartsWith("INFO ", StringComparison.Ordinal))
            throw new InvalidOperationException("expected INFO, got " + info);
        var answer = await session.SendAsync(connect + "PING\r\n");
        if (answer != "PONG\r\n")
            throw new InvalidOperationException($"port {port}: CONNECT answered {answer}");
        return session;
    }

    /// <summary>Sends a script that ends with PING and returns everything up to and including the PONG.</summary>
    public async Task<string> SendAsync(string script)
    {
        await _stream.WriteAsync(Encoding.Latin1.GetBytes(script));
        return await ReadUntilAsync("PONG\r\n");
    }

    private async Task<string> ReadUntilAsync(string end)
    {
        var received = new StringBuilder();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (!received.ToString().EndsWith(end, StringComparison.Ordinal))
        {
            int n = await _stream.ReadAsync(_buffer, cts.Token);
            if (n == 0)
                return received.Append("<EOF>").ToString();
            received.Append(Encoding.Latin1.GetString(_buffer, 0, n));
        }
        return received.ToString();
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
