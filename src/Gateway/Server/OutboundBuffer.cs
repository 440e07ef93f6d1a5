using System.Buffers;
using System.Buffers.Text;
using System.Threading.Channels;

namespace Platform.Gateway.Server;

/// <summary>
/// What the server has to send one client. Any thread appends under a short lock; the client's writer loop swaps
/// the filled buffer out and writes it to the socket, so a slow socket never blocks a publisher. Pending bytes are
/// bounded by max_pending: past it the append fails and the client is closed as a slow consumer.
/// </summary>
internal sealed class OutboundBuffer
{
    private const int InitialSize = 4096;
    /// <summary>Buffers larger than this go back to the pool after a flush instead of being kept as the spare.</summary>
    private const int KeepLimit = 1024 * 1024;

    private readonly object _gate = new();
    private readonly long _maxPending;
    private readonly Channel<bool> _signal;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
    private byte[]? _spare;
    private int _length;
    private long _inFlight;
    private bool _closed;
    private long _messages, _messageBytes;

    /// <param name="wakeInline">
    /// The waiting reader's continuation runs on the thread that signals, instead of being queued to the thread pool:
    /// for a reader that only hands the buffer on (a route's send loop), which saves a thread hop per wake.
    /// </param>
    public OutboundBuffer(long maxPending, bool wakeInline = false)
    {
        _maxPending = maxPending;
        _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
        {
            FullMode = BoundedChannelFullMode.DropWrite,
            SingleReader = true,
            AllowSynchronousContinuations = wakeInline,
        });
    }

    /// <summary>
    /// Messages appended for this client (its out_msgs in /connz). Counted under the append lock every writer already
    /// takes, so per-client stats cost no extra synchronisation on the delivery path; read without the lock, a
    /// monitoring snapshot may be one message behind, which is fine for stats (a 64-bit read does not tear on x64/arm64).
    /// </summary>
    public long Messages => Volatile.Read(ref _messages);

    /// <summary>Message bytes appended (headers as delivered plus payload, without the MSG line): out_bytes.</summary>
    public long MessageBytes => Volatile.Read(ref _messageBytes);

    public long PendingBytes
    {
        get { lock (_gate) return _length + _inFlight; }
    }

    /// <summary>Appends bytes; false when the client is closed or over max_pending.</summary>
    public bool TryWrite(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            if (!Reserve(bytes.Length))
                return false;
            bytes.CopyTo(_buffer.AsSpan(_length));
            _length += bytes.Length;
            return true;
        }
    }

    /// <summary>
    /// Appends <c>MSG subject sid [reply] size\r\npayload\r\n</c>, or HMSG when the message has headers and the client
    /// accepts them. Headers are stripped for a client that did not announce header support, as nats-server does.
    /// </summary>
    public bool TryWriteMessage(ReadOnlySpan<byte> subject, ReadOnlySpan<byte> sid, ReadOnlySpan<byte> reply,
        int headerLength, in ReadOnlySequence<byte> message, bool clientAcceptsHeaders)
    {
        var body = message;
        bool withHeaders = headerLength > 0 && clientAcceptsHeaders;
        if (headerLength > 0 && !clientAcceptsHeaders)
            body = message.Slice(headerLength);
        int bodyLength = (int)body.Length;
        // op + 3 spaces + two 10-digit numbers + CRLF twice
        int size = 5 + subject.Length + 1 + sid.Length + 1 + reply.Length + 1 + 24 + 4 + bodyLength;
        lock (_gate)
        {
            if (!Reserve(size))
                return false;
            var span = _buffer.AsSpan(_length);
            int p;
            if (withHeaders)
            {
                "HMSG "u8.CopyTo(span);
                p = 5;
            }
            else
            {
                "MSG "u8.CopyTo(span);
                p = 4;
            }
            subject.CopyTo(span[p..]);
            p += subject.Length;
            span[p++] = (byte)' ';
            sid.CopyTo(span[p..]);
            p += sid.Length;
            span[p++] = (byte)' ';
            if (!reply.IsEmpty)
            {
                reply.CopyTo(span[p..]);
                p += reply.Length;
                span[p++] = (byte)' ';
            }
            if (withHeaders)
            {
                Utf8Formatter.TryFormat(headerLength, span[p..], out var w);
                p += w;
                span[p++] = (byte)' ';
            }
            Utf8Formatter.TryFormat(bodyLength, span[p..], out var written);
            p += written;
            span[p++] = (byte)'\r';
            span[p++] = (byte)'\n';
            body.CopyTo(span[p..]);
            p += bodyLength;
            span[p++] = (byte)'\r';
            span[p++] = (byte)'\n';
            _length += p;
            _messages++;
            _messageBytes += bodyLength;
            return true;
        }
    }

    /// <summary>
    /// Starts an append of up to <paramref name="size"/> bytes that the caller writes itself (a route's frames), holding
    /// the append lock until <see cref="EndFrame"/>, so frames from concurrent writers never interleave. An empty span
    /// means closed or over max_pending: nothing is held and EndFrame must not be called.
    /// </summary>
    public Span<byte> BeginFrame(int size)
    {
        Monitor.Enter(_gate);
        if (Reserve(size))
            return _buffer.AsSpan(_length, size);
        Monitor.Exit(_gate);
        return default;
    }

    /// <summary>Ends what <see cref="BeginFrame"/> started, keeping <paramref name="written"/> bytes.</summary>
    public void EndFrame(int written, bool isMessage, int messageBytes)
    {
        _length += written;
        if (isMessage)
        {
            _messages++;
            _messageBytes += messageBytes;
        }
        Monitor.Exit(_gate);
    }

    /// <summary>Wakes the writer loop. Publishers call it once per read, not once per message.</summary>
    public void Signal() => _signal.Writer.TryWrite(true);

    /// <summary>Wakes every writer a batch of deliveries touched, once each, and empties the set for reuse.</summary>
    public static void SignalAll(HashSet<OutboundBuffer> touched)
    {
        foreach (var outbound in touched)
            outbound.Signal();
        touched.Clear();
    }

    public ValueTask<bool> WaitAsync(CancellationToken cancellationToken) => _signal.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>Takes what is pending for the writer loop; the caller hands it back with <see cref="Release"/>.</summary>
    public ArraySegment<byte> Take()
    {
        _signal.Reader.TryRead(out _);
        lock (_gate)
        {
            if (_length == 0)
                return default;
            var filled = new ArraySegment<byte>(_buffer, 0, _length);
            _buffer = _spare ?? ArrayPool<byte>.Shared.Rent(InitialSize);
            _spare = null;
            _inFlight = _length;
            _length = 0;
            return filled;
        }
    }

    /// <summary>
    /// Hands back what <see cref="Take"/> gave. With <paramref name="reuse"/> false the array is left to the collector,
    /// for a send that failed and may still be reading it.
    /// </summary>
    public void Release(ArraySegment<byte> written, bool reuse = true)
    {
        lock (_gate)
        {
            _inFlight = 0;
            if (!reuse)
                return;
            if (_spare is null && written.Array!.Length <= KeepLimit && !_closed)
                _spare = written.Array;
            else
                ArrayPool<byte>.Shared.Return(written.Array!);
        }
    }

    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            _signal.Writer.TryComplete();
        }
    }

    private bool Reserve(int size)
    {
        if (_closed || _length + _inFlight + size > _maxPending)
            return false;
        if (_length + size > _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + size));
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
        return true;
    }
}
