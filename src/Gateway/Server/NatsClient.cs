using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Platform.Gateway.Protocol;
using Platform.Gateway.Routing;
using Platform.Gateway.Security;

namespace Platform.Gateway.Server;

/// <summary>
/// One client connection: a read loop that parses and handles every complete op in each read, and a writer loop
/// that drains the outbound buffer to the socket.
/// </summary>
internal sealed class NatsClient
{
    private static readonly byte[] Pong = "PONG\r\n"u8.ToArray();
    private static readonly byte[] Ping = "PING\r\n"u8.ToArray();
    private static readonly byte[] Ok = "+OK\r\n"u8.ToArray();

    private readonly NatsServer _server;
    private readonly ConnectionContext _connection;
    /// <summary>What the read and write loops use: Kestrel's pipes, or after a TLS upgrade pipes over the SslStream.</summary>
    private IDuplexPipe _transport;
    private readonly NatsParser _parser;
    private readonly Dictionary<string, Subscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly HashSet<OutboundBuffer> _touched = [];
    private readonly CancellationTokenSource _closing = new();
    private int _closed;
    private int _pingsOutstanding;
    private long _lastPingTicks;
    private string? _closeReason;
    private long _lastActivityTicks;
    private long _pingSentTimestamp;
    private long _rttTicks;
    private long _deliveredSeen;
    /// <summary>Set by the writer when a write failed or missed the write deadline.</summary>
    private bool _writeFailed;
    /// <summary>Bytes of the stream consumed before the current read, and where the op being handled starts in it.</summary>
    private long _streamOffset, _opStart;
    /// <summary>Where the last op whose invalid publish subject was reported starts (see ReportInvalidPublishSubject).</summary>
    private long _invalidSubjectReportedAt = -1;
    /// <summary>The CONNECT options so far: a later CONNECT updates them, as nats-server decodes into the same options.</summary>
    private readonly ConnectOptions _connectOptions = new();
    /// <summary>Reply subjects this client may publish to once (allow_responses): subject to (replies left, expiry).</summary>
    private Dictionary<string, (int Left, long ExpiresTicks)>? _responses;

    public NatsClient(NatsServer server, ConnectionContext connection)
    {
        _server = server;
        _connection = connection;
        _transport = connection.Transport;
        Id = server.NextClientId();
        _parser = new NatsParser(server.Options.MaxControlLine, server.Options.MaxPayload)
        {
            AwaitingConnect = server.Authenticator.Required,
        };
        Outbound = new OutboundBuffer(server.Options.MaxPending);
        RemoteEndPoint = connection.RemoteEndPoint as IPEndPoint;
        ConnectedAt = DateTime.UtcNow;
        _lastActivityTicks = ConnectedAt.Ticks;
        _lastPingTicks = Environment.TickCount64;
    }

    public ulong Id { get; }
    public NatsServer Server => _server;
    /// <summary>This connection's JetStream publishes of the current read, created on the first one.</summary>
    public JetStream.PublishBatcher? Batcher { get; set; }
    /// <summary>This connection's JetStream acks of the current read, created on the first one.</summary>
    public JetStream.AckBatcher? Acks { get; set; }
    public OutboundBuffer Outbound { get; }
    public IPEndPoint? RemoteEndPoint { get; }
    public DateTime ConnectedAt { get; }
    public bool ConnectReceived { get; private set; }
    /// <summary>Before a CONNECT, nats-server's defaults (verbose, pedantic, echo) apply to the ops a client sends.</summary>
    public bool Verbose { get; private set; } = true;
    public bool Pedantic { get; private set; } = true;
    public bool Echo { get; private set; } = true;
    public bool Headers { get; private set; }
    public bool NoResponders { get; private set; }
    public string? Name { get; private set; }
    public string? Lang { get; private set; }
    public string? Version { get; private set; }
    public string? User { get; private set; }
    /// <summary>The user's permissions; null (no checks at all) for users without any.</summary>
    public ClientPermissions? Permissions { get; private set; }
    public int Protocol { get; private set; }
    /// <summary>After a TLS upgrade, for /connz: the version as nats-server writes it ("1.3") and the cipher suite.</summary>
    public string? TlsVersion { get; private set; }
    public string? TlsCipherSuite { get; private set; }
    /// <summary>Written by the read loop only; monitoring reads them racily, which is fine for stats.</summary>
    public long InMsgs, InBytes;
    public long OutMsgs => Outbound.Messages;
    public long OutBytes => Outbound.MessageBytes;
    /// <summary>
    /// The last read from the client or write of a message to it (/connz last_activity): stamped once per socket read
    /// and once per flush that carried messages, never per message.
    /// </summary>
    public DateTime LastActivity => new(Volatile.Read(ref _lastActivityTicks), DateTimeKind.Utc);
    /// <summary>Round trip of the last keep-alive PING this server sent; null until one was answered.</summary>
    public TimeSpan? Rtt => Volatile.Read(ref _rttTicks) is var t and > 0 ? TimeSpan.FromTicks(t) : null;
    public int SubscriptionCount { get { lock (_subscriptions) return _subscriptions.Count; } }
    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public async Task RunAsync()
    {
        if (!_server.TryRegister(this))
        {
            if (!_server.ShuttingDown && !_server.LameDuck)
            {
                // As nats-server: the INFO, then the error, then the close.
                _server.Logger.LogError("{Remote} - cid:{ClientId} - {Error}", RemoteEndPoint, Id, ProtocolErrors.MaxConnectionsExceeded);
                Outbound.TryWrite(_server.Info.Render(Id, RemoteEndPoint?.Address));
                Outbound.TryWrite(Encoding.ASCII.GetBytes($"-ERR '{ProtocolErrors.MaxConnectionsExceeded}'\r\n"));
                await WriteLoopOnceAsync();
            }
            return;
        }
        Task? writer = null;
        SslStream? ssl = null;
        try
        {
            bool plain = false;
            if (_server.Tls is { } offered && _server.AllowNonTls)
            {
                // As nats-server with allow_non_tls: the INFO, then the client's first byte says whether it starts TLS.
                await _connection.Transport.Output.WriteAsync(_server.Info.Render(Id, RemoteEndPoint?.Address), _closing.Token);
                plain = !await StartsTlsAsync(offered.Timeout);
            }
            if (plain)
            {
                writer = Task.Run(WriteLoopAsync);
                Outbound.Signal();
            }
            else if (_server.Tls is { } tls)
            {
                ssl = await UpgradeAsync(tls, infoSent: _server.AllowNonTls);
                if (ssl is null)
                    return;
                writer = Task.Run(WriteLoopAsync);
                // Whatever was queued during the handshake (a PING, a lame duck INFO) goes out now.
                Outbound.Signal();
            }
            else
            {
                writer = Task.Run(WriteLoopAsync);
                Outbound.TryWrite(_server.Info.Render(Id, RemoteEndPoint?.Address));
                Outbound.Signal();
            }
            await ReadLoopAsync();
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            Close(_closeReason ?? "Client Closed");
            if (writer is not null)
                await writer;
            if (ssl is not null)
            {
                // The writer completed its side; the reader over the SslStream returns its buffers here.
                await _transport.Input.CompleteAsync();
                await ssl.DisposeAsync();
            }
            _server.Unregister(this);
            // Returning lets Kestrel close gracefully after what we wrote (a final -ERR) reaches the socket;
            // an abort would reset the connection and lose it.
        }
    }

    /// <summary>
    /// As nats-server: the INFO in plaintext, then the server side of the TLS handshake on the same connection within
    /// tls.timeout. Null (the connection is closed, nothing more is written) when the handshake fails or times out.
    /// </summary>
    /// <summary>
    /// Whether the client's first byte is a TLS handshake record (0x16), left unread for whoever reads next; a client
    /// that sends nothing within the TLS timeout is taken as plain, as nats-server takes it.
    /// </summary>
    private async Task<bool> StartsTlsAsync(TimeSpan timeout)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        wait.CancelAfter(timeout);
        var input = _connection.Transport.Input;
        try
        {
            var read = await input.ReadAsync(wait.Token);
            bool tls = !read.Buffer.IsEmpty && read.Buffer.FirstSpan[0] == 0x16;
            input.AdvanceTo(read.Buffer.Start);
            return tls;
        }
        catch (OperationCanceledException) when (!_closing.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task<SslStream?> UpgradeAsync(ServerTls tls, bool infoSent = false)
    {
        var ssl = new SslStream(new DuplexPipeStream(_connection.Transport), leaveInnerStreamOpen: true);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        timeout.CancelAfter(tls.Timeout);
        try
        {
            if (!infoSent)
                await _connection.Transport.Output.WriteAsync(_server.Info.Render(Id, RemoteEndPoint?.Address), timeout.Token);
            await ssl.AuthenticateAsServerAsync(tls.Authentication, timeout.Token);
            _transport = new TlsPipe(ssl);
            TlsVersion = ssl.SslProtocol switch
            {
                SslProtocols.Tls13 => "1.3",
                SslProtocols.Tls12 => "1.2",
                var other => other.ToString(),
            };
            TlsCipherSuite = ssl.NegotiatedCipherSuite.ToString();
            return ssl;
        }
        catch (OperationCanceledException) when (!_closing.IsCancellationRequested)
        {
            _server.Logger.LogError("{Remote} - cid:{ClientId} - TLS handshake timeout", RemoteEndPoint, Id);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or ConnectionResetException or OperationCanceledException
                                       or ObjectDisposedException or InvalidOperationException)
        {
            if (!_closing.IsCancellationRequested)
                _server.Logger.LogError("{Remote} - cid:{ClientId} - TLS handshake error: {Error}", RemoteEndPoint, Id, ex.Message);
        }
        _closeReason ??= "TLS Handshake Error";
        await ssl.DisposeAsync();
        return null;
    }

    private async Task ReadLoopAsync()
    {
        var input = _transport.Input;
        while (!IsClosed)
        {
            var result = await input.ReadAsync(_closing.Token);
            Volatile.Write(ref _lastActivityTicks, DateTime.UtcNow.Ticks);
            var buffer = result.Buffer;
            var consumed = ProcessBuffer(buffer, out bool stop);
            input.AdvanceTo(consumed, buffer.End);
            OutboundBuffer.SignalAll(_touched);
            if (_server.Interceptor is { } interceptor)
                await interceptor.EndOfReadAsync(this);
            if (_server.Routes?.Congested() is { } route)
                await route.WaitForRoomAsync().WaitAsync(_closing.Token);
            if (stop || result.IsCompleted)
                break;
        }
    }

    private SequencePosition ProcessBuffer(ReadOnlySequence<byte> buffer, out bool stop)
    {
        stop = false;
        var reader = new SequenceReader<byte>(buffer);
        while (!reader.End)
        {
            _opStart = _streamOffset + reader.Consumed;
            var status = _parser.TryParse(ref reader, out var op);
            if (status == ParseStatus.NeedMoreData)
            {
                if (_parser.PendingInvalidSubject)
                    ReportInvalidPublishSubject(payloadPending: true);
                break;
            }
            if (status == ParseStatus.Error)
            {
                stop = true;
                if (_parser.Error == ProtocolErrors.AuthorizationViolation)
                {
                    AuthorizationViolation();
                    break;
                }
                if (_parser.PendingInvalidSubject)
                    ReportInvalidPublishSubject(payloadPending: false);
                if (_parser.Error is { } error)
                    SendError(error);
                _closeReason = "Parse Error";
                break;
            }
            if (!Handle(ref op))
            {
                stop = true;
                break;
            }
        }
        _streamOffset += reader.Consumed;
        return reader.Position;
    }

    /// <summary>
    /// A pedantic client's -ERR 'Invalid Publish Subject' for an op that has not completed, once per op. nats-server
    /// sends it when it reads the PUB line, and again when the read ends inside the payload (it parses the line a second
    /// time to keep it): so twice for a payload still to come, once for a payload that failed in the same read.
    /// </summary>
    private void ReportInvalidPublishSubject(bool payloadPending)
    {
        if (!Pedantic || _invalidSubjectReportedAt == _opStart)
            return;
        _invalidSubjectReportedAt = _opStart;
        SendError(ProtocolErrors.InvalidPublishSubject);
        if (payloadPending)
            SendError(ProtocolErrors.InvalidPublishSubject);
    }

    /// <summary>Handles one op; false closes the connection.</summary>
    private bool Handle(ref ClientOp op)
    {
        switch (op.Kind)
        {
            case ClientOpKind.Connect:
                return HandleConnect(op.Payload);
            case ClientOpKind.HMsg:
                InMsgs++;
                Acknowledge();
                return true;
            case ClientOpKind.Info:
                if (ClientInfo.Decodes(op.Payload.FirstSpan))
                    return true;
                _closeReason = "Parse Error";
                return false;
            case ClientOpKind.Pub:
            case ClientOpKind.HPub:
                HandlePublish(ref op);
                return true;
            case ClientOpKind.Sub:
                HandleSubscribe(ref op);
                return true;
            case ClientOpKind.Unsub:
                HandleUnsubscribe(ref op);
                return true;
            case ClientOpKind.Ping:
                Outbound.TryWrite(Pong);
                _touched.Add(Outbound);
                return true;
            case ClientOpKind.Pong:
                Interlocked.Exchange(ref _pingsOutstanding, 0);
                if (Interlocked.Exchange(ref _pingSentTimestamp, 0) is var sent and > 0)
                    Volatile.Write(ref _rttTicks, Math.Max(1, System.Diagnostics.Stopwatch.GetElapsedTime(sent).Ticks));
                return true;
            default:
                return true;
        }
    }

    /// <summary>nats-server's order: the JSON, accounts, authentication (first CONNECT only), protocol, no_responders.</summary>
    private bool HandleConnect(in ReadOnlySequence<byte> json)
    {
        var options = _connectOptions;
        if (!options.TryApply(json.FirstSpan))
        {
            _closeReason = "Bad CONNECT";
            return false;
        }
        if (!string.IsNullOrEmpty(options.Account) || options.NewAccount)
            return AuthorizationViolation();
        if (!ConnectReceived && _server.Authenticator.Required)
        {
            if (!_server.Authenticator.TryAuthenticate(options, out var user, out var permissions))
                return AuthorizationViolation();
            User = user;
            Permissions = permissions;
        }
        if (options.Protocol is < 0 or > 1)
            return FatalError(ProtocolErrors.InvalidClientProtocol, "Bad Client Protocol Version");
        if (options.NoResponders && !options.Headers)
            return FatalError(ProtocolErrors.NoRespondersRequiresHeaders, "No Responders Requires Headers");
        Verbose = options.Verbose;
        Pedantic = options.Pedantic;
        Echo = options.Echo;
        Headers = options.Headers;
        NoResponders = options.NoResponders;
        Name = options.Name;
        Lang = options.Lang;
        Version = options.Version;
        Protocol = (int)options.Protocol;
        _parser.HeadersEnabled = options.Headers;
        _parser.AwaitingConnect = false;
        ConnectReceived = true;
        Acknowledge();
        return true;
    }

    private bool FatalError(string error, string reason)
    {
        SendError(error);
        _closeReason = reason;
        return false;
    }

    private bool AuthorizationViolation() => FatalError(ProtocolErrors.AuthorizationViolation, "Authorization Violation");

    private void HandlePublish(ref ClientOp op)
    {
        InMsgs++;
        InBytes += op.Payload.Length;
        // nats-server checks the subject when it reads the PUB line, before permissions.
        if (Pedantic && _invalidSubjectReportedAt != _opStart && !SubjectRules.IsValidPublishSubject(op.Subject))
            SendError(ProtocolErrors.InvalidPublishSubject);
        if (Permissions is { Publish: { } publish } && !publish.IsAllowed(op.Subject) && !TryUseResponse(op.Subject))
        {
            // Non-fatal, as nats-server: the message is dropped and the connection stays.
            _server.Logger.LogError("{Remote} - cid:{ClientId} - Publish Violation - User \"{User}\", Subject \"{Subject}\"",
                RemoteEndPoint, Id, User, Encoding.UTF8.GetString(op.Subject));
            SendError($"Permissions Violation for Publish to \"{WireText(op.Subject)}\"");
            return;
        }
        // nats-server acknowledges before it delivers, so a verbose client sees +OK ahead of its own echo.
        Acknowledge();
        bool captured = _server.Interceptor is { } interceptor
                        && interceptor.TryCapture(this, op.Subject, op.Reply, op.HeaderLength, op.Payload);
        bool delivered = _server.Deliver(op.Subject, op.Reply, op.HeaderLength, op.Payload, this, _touched);
        if (!delivered && !captured && NoResponders && !op.Reply.IsEmpty)
            _server.SendNoResponders(this, op.Reply, _touched);
    }

    private void HandleSubscribe(ref ClientOp op)
    {
        // nats-server checks permissions first: a subject with an empty token fails an allow list as a violation.
        if (Permissions is { Subscribe: { } subscribe } && !subscribe.IsAllowed(op.Subject))
        {
            var subject = Encoding.UTF8.GetString(op.Subject);
            var queue = Encoding.UTF8.GetString(op.Queue);
            var sidText = Encoding.UTF8.GetString(op.Sid);
            if (queue.Length == 0)
            {
                _server.Logger.LogError("{Remote} - cid:{ClientId} - Subscription Violation - User \"{User}\", Subject \"{Subject}\", SID {Sid}",
                    RemoteEndPoint, Id, User, subject, sidText);
                SendError($"Permissions Violation for Subscription to \"{WireText(op.Subject)}\"");
            }
            else
            {
                _server.Logger.LogError("{Remote} - cid:{ClientId} - Subscription Violation - User \"{User}\", Subject \"{Subject}\", Queue: \"{Queue}\", SID {Sid}",
                    RemoteEndPoint, Id, User, subject, queue, sidText);
                SendError($"Permissions Violation for Subscription to \"{WireText(op.Subject)}\" using queue \"{WireText(op.Queue)}\"");
            }
            return;
        }
        var sid = Encoding.Latin1.GetString(op.Sid);
        bool repeated;
        lock (_subscriptions)
            repeated = _subscriptions.ContainsKey(sid);
        // A repeated sid keeps the first subscription, as nats-server does, without looking at the new subject.
        if (repeated)
        {
            Acknowledge();
            return;
        }
        if (!SubjectRules.IsValidSubscribeSubject(op.Subject))
        {
            SendError(ProtocolErrors.InvalidSubject);
            return;
        }
        var sub = new Subscription(op.Subject, op.Queue.IsEmpty ? null : Encoding.Latin1.GetString(op.Queue), op.Sid.ToArray(), this, null);
        lock (_subscriptions)
        {
            if (!_subscriptions.TryAdd(sid, sub))
            {
                Acknowledge();
                return;
            }
        }
        _server.Subscribe(sub);
        Acknowledge();
    }

    /// <summary>
    /// Wire bytes as a string of one char per byte: <see cref="SendError"/> writes it back byte for byte, so an -ERR
    /// quotes a subject exactly as the client sent it (as nats-server does), whatever its encoding.
    /// </summary>
    private static string WireText(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>allow_responses: called when a message with a reply subject is delivered to this client.</summary>
    public void AllowResponse(ReadOnlySpan<byte> reply, ResponsePermission permission)
    {
        var subject = Encoding.Latin1.GetString(reply);
        long expires = Environment.TickCount64 + (long)permission.Expires.TotalMilliseconds;
        lock (_subscriptions)
        {
            _responses ??= new Dictionary<string, (int, long)>(StringComparer.Ordinal);
            if (_responses.Count >= MaxPendingResponses)
                PruneResponses(Environment.TickCount64);
            if (_responses.Count < MaxPendingResponses)
                _responses[subject] = (permission.MaxMessages, expires);
        }
    }

    /// <summary>Bounds the reply subjects remembered for a client that receives requests and never answers.</summary>
    private const int MaxPendingResponses = 64 * 1024;

    /// <summary>Whether the client may publish this once as a reply (allow_responses), using up one reply.</summary>
    private bool TryUseResponse(ReadOnlySpan<byte> subject)
    {
        if (Permissions?.Responses is null)
            return false;
        var key = Encoding.Latin1.GetString(subject);
        lock (_subscriptions)
        {
            if (_responses is null || !_responses.TryGetValue(key, out var entry))
                return false;
            if (entry.ExpiresTicks <= Environment.TickCount64)
            {
                _responses.Remove(key);
                return false;
            }
            if (entry.Left <= 1)
                _responses.Remove(key);
            else
                _responses[key] = (entry.Left - 1, entry.ExpiresTicks);
            return true;
        }
    }

    private void PruneResponses(long now)
    {
        foreach (var (key, entry) in _responses!)
        {
            if (entry.ExpiresTicks <= now)
                _responses.Remove(key);
        }
    }

    private void HandleUnsubscribe(ref ClientOp op)
    {
        var sid = Encoding.Latin1.GetString(op.Sid);
        Subscription? sub;
        lock (_subscriptions)
            _subscriptions.TryGetValue(sid, out sub);
        if (sub is not null)
        {
            if (op.Max > 0 && sub.Delivered < op.Max)
                sub.Max = op.Max;
            else
                _server.Unsubscribe(sub);
        }
        Acknowledge();
    }

    public void ForgetSubscription(Subscription sub)
    {
        lock (_subscriptions)
        {
            var sid = Encoding.Latin1.GetString(sub.Sid);
            if (_subscriptions.TryGetValue(sid, out var current) && current == sub)
                _subscriptions.Remove(sid);
        }
    }

    public IReadOnlyList<Subscription> SnapshotSubscriptions()
    {
        lock (_subscriptions)
            return [.. _subscriptions.Values];
    }

    private void Acknowledge()
    {
        if (!Verbose)
            return;
        Outbound.TryWrite(Ok);
        _touched.Add(Outbound);
    }

    /// <summary>Sends -ERR with the text one byte per char (see <see cref="WireText"/>); the fixed texts are ASCII.</summary>
    public void SendError(string text)
    {
        Outbound.TryWrite(Encoding.Latin1.GetBytes($"-ERR '{text}'\r\n"));
        Outbound.Signal();
    }

    /// <summary>Called by the server's housekeeping every second: auth timeout and keep-alive pings.</summary>
    public void Tick(long nowTicks)
    {
        if (IsClosed)
            return;
        var options = _server.Options;
        if (!ConnectReceived && _server.Authenticator.Required && DateTime.UtcNow - ConnectedAt >= options.AuthTimeout)
        {
            SendError(ProtocolErrors.AuthenticationTimeout);
            Close("Authentication Timeout");
            return;
        }
        if (_responses is not null)
        {
            lock (_subscriptions)
                PruneResponses(nowTicks);
        }
        if (nowTicks - Interlocked.Read(ref _lastPingTicks) < (long)options.PingInterval.TotalMilliseconds)
            return;
        Interlocked.Exchange(ref _lastPingTicks, nowTicks);
        if (Interlocked.Increment(ref _pingsOutstanding) > options.MaxPingsOutstanding)
        {
            SendError(ProtocolErrors.StaleConnection);
            Close("Stale Connection");
            return;
        }
        Interlocked.CompareExchange(ref _pingSentTimestamp, System.Diagnostics.Stopwatch.GetTimestamp(), 0);
        Outbound.TryWrite(Ping);
        Outbound.Signal();
    }

    /// <summary>A changed INFO (connect_urls), to clients that understand async INFO; as nats-server, others get none.</summary>
    public void SendAsyncInfo()
    {
        if (IsClosed || !ConnectReceived || Protocol < 1)
            return;
        Outbound.TryWrite(_server.Info.Render(Id, RemoteEndPoint?.Address, _server.LameDuck));
        Outbound.Signal();
    }

    /// <summary>Lame duck mode: the INFO with "ldm":true, to clients that understand async INFO.</summary>
    public void SendLameDuckInfo()
    {
        if (IsClosed || !ConnectReceived || Protocol < 1)
            return;
        Outbound.TryWrite(_server.Info.Render(Id, RemoteEndPoint?.Address, lameDuck: true));
        Outbound.Signal();
    }

    public void CloseAsSlowConsumer()
    {
        if (IsClosed)
            return;
        _server.CountSlowConsumer();
        _server.Logger.LogWarning("Slow consumer: client {ClientId} over max_pending, closing", Id);
        Close("Slow Consumer (Pending Bytes)");
    }

    /// <summary>Stops reading, drops the client's subscriptions and lets the writer flush what is queued.</summary>
    public void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
            return;
        _closeReason ??= reason;
        List<Subscription> subs;
        lock (_subscriptions)
        {
            subs = [.. _subscriptions.Values];
            _subscriptions.Clear();
        }
        foreach (var sub in subs)
        {
            sub.Closed = true;
            _server.RemoveSubscription(sub);
        }
        Outbound.Close();
        _closing.Cancel();
    }

    private async Task WriteLoopAsync()
    {
        var output = _transport.Output;
        using var deadline = new CancellationTokenSource();
        try
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await Outbound.WaitAsync(CancellationToken.None);
                }
                catch (OperationCanceledException)
                {
                    more = false;
                }
                if (!await DrainAsync(output, deadline) || !more)
                    break;
            }
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            _writeFailed = true;
            Close("Write Error");
        }
        if (_writeFailed && _transport is TlsPipe)
        {
            // The writer over the SslStream would otherwise flush what it holds into a connection that takes nothing
            // more, and wait for it; an error completes it without writing.
            try
            {
                await output.CompleteAsync(new IOException("write failed"));
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
            {
            }
        }
        else
        {
            await output.CompleteAsync();
        }
    }

    private async Task<bool> DrainAsync(PipeWriter output, CancellationTokenSource deadline)
    {
        while (true)
        {
            var pending = Outbound.Take();
            if (pending.Count == 0)
                return true;
            try
            {
                deadline.CancelAfter(_server.Options.WriteDeadline);
                var flush = await output.WriteAsync(pending.AsMemory(), deadline.Token);
                if (!deadline.TryReset())
                    throw new OperationCanceledException();
                // Only flushes that carried messages count as activity: our own PINGs and +OKs do not.
                if (Outbound.Messages is var delivered && delivered != _deliveredSeen)
                {
                    _deliveredSeen = delivered;
                    Volatile.Write(ref _lastActivityTicks, DateTime.UtcNow.Ticks);
                }
                if (flush.IsCompleted)
                    return false;
            }
            catch (OperationCanceledException)
            {
                _writeFailed = true;
                CloseAsSlowConsumer();
                return false;
            }
            finally
            {
                Outbound.Release(pending);
            }
        }
    }

    private async Task WriteLoopOnceAsync()
    {
        var pending = Outbound.Take();
        if (pending.Count > 0)
        {
            await _connection.Transport.Output.WriteAsync(pending.AsMemory());
            Outbound.Release(pending);
        }
    }
}
