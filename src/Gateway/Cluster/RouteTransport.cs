using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Orleans.Runtime;

namespace Platform.Gateway.Cluster;

/// <summary>
/// The TCP connections route batches travel on, one per direction between two silos, as nats-server's routes: each
/// silo listens on a route port it advertises in its Orleans silo metadata (<see cref="MetadataKey"/>), and the
/// sending side of a route connects to the peer's. On the wire every unit is a little-endian 32-bit length and that
/// many bytes: first a hello (the cluster's id and the sender's silo address), then batches of
/// <see cref="RouteFrames"/>.
/// </summary>
/// <remarks>
/// Routes first travelled as grain calls. A cross-silo request/reply crosses two routes, and each call cost about
/// 170 us on loopback against nats-server's ~70 us per route hop: p50 248 us against nats-server's 196 us
/// (perf/RESULTS-cluster.md). A socket is also an ordered stream, so batches need not wait for the previous one's
/// answer. Like the Orleans silo port, the route port must be reachable only by the cluster's own nodes: a peer
/// that names the cluster can publish on any subject.
/// </remarks>
internal sealed class RouteTransport : IDisposable
{
    /// <summary>Silo metadata key under which each silo publishes its route host:port to the others.</summary>
    public const string MetadataKey = "platform.nats.routes";

    private const int HelloLimit = 1024;
    /// <summary>A batch holds at most an outbox (max_pending) or an interest snapshot; this only stops a broken peer's length.</summary>
    public const int BatchLimit = 1 << 30;

    private readonly Socket _listener;

    private RouteTransport(Socket listener, string endpoint)
    {
        _listener = listener;
        Endpoint = endpoint;
    }

    /// <summary>The host:port other silos connect to.</summary>
    public string Endpoint { get; }

    /// <summary>
    /// Listens on <paramref name="address"/> (every address with <paramref name="anyAddress"/>) and
    /// <paramref name="port"/>, 0 for a free one: bound before Orleans starts, since silo metadata is fixed by then.
    /// </summary>
    public static RouteTransport Listen(IPAddress address, int port, bool anyAddress)
    {
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(anyAddress ? (address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any) : address, port));
            listener.Listen(64);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        var bound = (IPEndPoint)listener.LocalEndPoint!;
        return new RouteTransport(listener, new IPEndPoint(address, bound.Port).ToString());
    }

    public async Task<Socket> AcceptAsync(CancellationToken cancellationToken)
    {
        var socket = await _listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
        socket.NoDelay = true;
        return socket;
    }

    /// <summary>Connects to a peer's route <paramref name="endpoint"/> and introduces this silo.</summary>
    public static async Task<RouteConnection> ConnectAsync(string endpoint, string clusterId, SiloAddress self, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(IPEndPoint.Parse(endpoint), cancellationToken).ConfigureAwait(false);
            var connection = new RouteConnection(socket);
            await connection.SendAsync(Encoding.UTF8.GetBytes(clusterId + "\n" + self.ToParsableString())).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads the hello of an accepted connection: the sending silo, or null if it is from another cluster or not a
    /// hello at all.
    /// </summary>
    public static async Task<SiloAddress?> ReadHelloAsync(PipeReader reader, string clusterId, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var status = TryReadUnit(ref buffer, HelloLimit, out var unit);
            if (status == UnitStatus.Invalid)
                return null;
            if (status == UnitStatus.Complete)
            {
                var text = Encoding.UTF8.GetString(unit).Split('\n');
                reader.AdvanceTo(buffer.Start);
                if (text.Length != 2 || text[0] != clusterId)
                    return null;
                try
                {
                    return SiloAddress.FromParsableString(text[1]);
                }
                catch (FormatException)
                {
                    return null;
                }
            }
            if (result.IsCompleted)
                return null;
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    public enum UnitStatus
    {
        Incomplete,
        Complete,
        Invalid,
    }

    /// <summary>Takes one unit off the front of <paramref name="buffer"/> if all of it is there.</summary>
    public static UnitStatus TryReadUnit(ref ReadOnlySequence<byte> buffer, int limit, out ReadOnlySequence<byte> unit)
    {
        unit = default;
        if (buffer.Length < 4)
            return UnitStatus.Incomplete;
        Span<byte> prefix = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(prefix);
        int length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        if (length < 0 || length > limit)
            return UnitStatus.Invalid;
        if (buffer.Length < 4 + length)
            return UnitStatus.Incomplete;
        unit = buffer.Slice(4, length);
        buffer = buffer.Slice(4 + length);
        return UnitStatus.Complete;
    }

    public void Dispose() => _listener.Dispose();
}
