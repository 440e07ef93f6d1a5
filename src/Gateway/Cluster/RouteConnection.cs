using System.Buffers.Binary;
using System.Net.Sockets;

namespace Platform.Gateway.Cluster;

/// <summary>
/// The sending end of one route's connection (<see cref="RouteTransport"/>): writes each batch with its length in one
/// send. Used by one send loop at a time.
/// </summary>
internal sealed class RouteConnection(Socket socket) : IDisposable
{
    private readonly byte[] _prefix = new byte[4];
    private readonly ArraySegment<byte>[] _segments = new ArraySegment<byte>[2];

    public async ValueTask SendAsync(ArraySegment<byte> payload)
    {
        BinaryPrimitives.WriteInt32LittleEndian(_prefix, payload.Count);
        _segments[0] = _prefix;
        _segments[1] = payload;
        int sent = await socket.SendAsync(_segments, SocketFlags.None).ConfigureAwait(false);
        // A stream socket's send completes when all of it is written; anything else is a broken connection.
        if (sent != _prefix.Length + payload.Count)
            throw new IOException($"route connection wrote {sent} of {_prefix.Length + payload.Count} bytes");
    }

    public void Dispose() => socket.Dispose();
}
