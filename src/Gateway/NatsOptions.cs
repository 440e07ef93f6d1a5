using Platform.Gateway.Security;

namespace Platform.Gateway;

/// <summary>Server settings with nats-server's names and defaults.</summary>
public sealed class NatsOptions
{
    public string Host { get; set; } = "127.0.0.1";
    /// <summary>-1 picks a free port.</summary>
    public int Port { get; set; } = 4222;
    /// <summary>0 disables monitoring; -1 picks a free port.</summary>
    public int HttpPort { get; set; } = 8222;
    public string? ServerName { get; set; }
    public int MaxPayload { get; set; } = 1024 * 1024;
    public int MaxControlLine { get; set; } = 4096;
    public long MaxPending { get; set; } = 64L * 1024 * 1024;
    public int MaxConnections { get; set; } = 64 * 1024;
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromMinutes(2);
    public int MaxPingsOutstanding { get; set; } = 2;
    public TimeSpan WriteDeadline { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>Unless set, 2 s, or with TLS the handshake's timeout plus a second, as nats-server defaults it.</summary>
    public TimeSpan AuthTimeout
    {
        get => _authTimeout ?? (Tls is { } tls ? tls.Timeout + TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(2));
        set => _authTimeout = value;
    }
    private TimeSpan? _authTimeout;
    public string? AuthToken { get; set; }
    public string? Username { get; set; }
    public string? Password { get; set; }
    /// <summary>authorization { users = [...] }: several users, each with optional permissions.</summary>
    public List<NatsUser> Users { get; } = [];
    /// <summary>tls { }: null for plaintext clients.</summary>
    public TlsOptions? Tls { get; set; }
    /// <summary>allow_non_tls: with TLS configured, clients may also connect without it (the INFO offers tls_available).</summary>
    public bool AllowNonTls { get; set; }
    public bool JetStream { get; set; }
    public string StoreDirectory { get; set; } = "./data";
    /// <summary>JetStream sync_interval: a duration, or "always" for an fsync (group commit) before every ack.</summary>
    public string SyncInterval { get; set; } = "2m";
    /// <summary>JetStream max_memory_store: bytes all memory streams may hold and reserve; -1 is unlimited.</summary>
    public long MaxMemoryStore { get; set; } = -1;
    /// <summary>JetStream max_file_store: bytes all file streams may hold and reserve; -1 is unlimited.</summary>
    public long MaxFileStore { get; set; } = -1;
    /// <summary>
    /// Files the open stream logs may hold together (idle logs close to stay within it); 0 derives it from the
    /// process's descriptor limit (RLIMIT_NOFILE): half of what is left after 256 for the silo itself.
    /// </summary>
    public int MaxLogFiles { get; set; }
    /// <summary>
    /// memory_budget, the silo's own key: bytes the silo's managed heap may use (its hard limit, so the process's RSS
    /// stays within this plus what the runtime and its code take), a quarter of it for the stream logs' memtables;
    /// 0: no limit, memtables within a quarter of the memory the process may use.
    /// </summary>
    public long MemoryBudget { get; set; }
    /// <summary>Lame duck mode: the time over which clients are closed before the server shuts down.</summary>
    public TimeSpan LameDuckDuration { get; set; } = TimeSpan.FromMinutes(2);
    /// <summary>Lame duck mode: the wait after the lame-duck INFO before the first client is closed.</summary>
    public TimeSpan LameDuckGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    internal bool AuthRequired => AuthToken is not null || Username is not null || Users.Count > 0;
}
