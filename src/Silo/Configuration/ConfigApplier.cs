using System.Globalization;
using Platform.Gateway;
using Platform.Gateway.Routing;
using Platform.Gateway.Security;

namespace Platform.Silo.Configuration;

/// <summary>
/// Applies a parsed nats-server configuration file to the settings. Unknown or invalid keys are errors naming the
/// file, line and key: silently ignoring a setting an operator wrote is worse than refusing to start.
/// </summary>
internal static class ConfigApplier
{
    public static void Apply(Dictionary<string, object> config, SiloSettings settings)
    {
        var nats = settings.Nats;
        foreach (var (key, raw) in config)
        {
            var item = (ConfigValue)raw;
            switch (key.ToLowerInvariant())
            {
                case "listen":
                    var (host, port) = HostPort(item, key);
                    if (host.Length > 0) nats.Host = host;
                    nats.Port = port;
                    break;
                case "host" or "net": nats.Host = String(item, key); break;
                case "port": nats.Port = (int)Number(item, key); break;
                case "http_port" or "monitor_port": nats.HttpPort = (int)Number(item, key); break;
                case "http":
                    nats.HttpPort = HostPort(item, key).Port;
                    break;
                case "server_name": nats.ServerName = String(item, key); break;
                case "max_payload": nats.MaxPayload = (int)Number(item, key); break;
                case "max_pending": nats.MaxPending = Number(item, key); break;
                case "max_connections" or "max_conn": nats.MaxConnections = (int)Number(item, key); break;
                case "max_control_line": nats.MaxControlLine = (int)Number(item, key); break;
                case "ping_interval": nats.PingInterval = Duration(item, key); break;
                case "ping_max": nats.MaxPingsOutstanding = (int)Number(item, key); break;
                case "write_deadline": nats.WriteDeadline = Duration(item, key); break;
                case "lame_duck_duration": nats.LameDuckDuration = PositiveDuration(item, key); break;
                case "lame_duck_grace_period": nats.LameDuckGracePeriod = Duration(item, key); break;
                case "ports_file_dir": settings.PortsFileDirectory = String(item, key); break;
                // The silo's own key (nats-server has none): see NatsOptions.MemoryBudget.
                case "memory_budget":
                    long budget = Number(item, key);
                    nats.MemoryBudget = MemoryBudget.IsValid(budget) ? budget : throw Invalid(item, key, MemoryBudget.Expected);
                    break;
                case "debug": settings.Debug = Bool(item, key); break;
                case "trace": settings.Trace = Bool(item, key); break;
                case "log_file": settings.LogFile = String(item, key); break;
                case "client_advertise": settings.ClientAdvertise = String(item, key); break;
                case "cluster": ApplyCluster(Map(item, key), settings.Cluster, settings); break;
                case "authorization": ApplyAuthorization(Map(item, key), settings); break;
                case "accounts": ApplyAccounts(item, settings); break;
                case "tls": nats.Tls = Tls(item, key); break;
                case "allow_non_tls": nats.AllowNonTls = Bool(item, key); break;
                case "jetstream":
                    if (item.Value is bool enabled)
                    {
                        nats.JetStream = enabled;
                    }
                    else if (item.Value is string text && text is "enabled" or "disabled")
                    {
                        nats.JetStream = text == "enabled";
                    }
                    else
                    {
                        nats.JetStream = true;
                        ApplyJetStream(Map(item, key), settings);
                    }
                    break;
                default: throw Unsupported(item, key);
            }
        }
    }

    private static void ApplyAuthorization(Dictionary<string, object> map, SiloSettings settings)
    {
        foreach (var (key, raw) in map)
        {
            var item = (ConfigValue)raw;
            switch (key.ToLowerInvariant())
            {
                case "token": settings.Nats.AuthToken = String(item, key); break;
                case "user" or "username": settings.Nats.Username = String(item, key); break;
                case "password" or "pass": settings.Nats.Password = String(item, key); break;
                case "timeout": settings.Nats.AuthTimeout = Duration(item, key); break;
                case "users": AddUsers(item, "authorization.users", settings); break;
                default: throw Unsupported(item, $"authorization.{key}");
            }
        }
        // nats-server refuses these mixes rather than picking one.
        var nats = settings.Nats;
        if (nats.Users.Count > 0 && (nats.AuthToken is not null || nats.Username is not null)
            && map.TryGetValue("users", out var users) && users is ConfigValue where)
        {
            throw new ConfigException(nats.AuthToken is not null
                ? $"{where.File}:{where.Line}: can not have a token and a users array in authorization"
                : $"{where.File}:{where.Line}: can not have a single user/pass and a users array in authorization");
        }
    }

    private static void AddUsers(ConfigValue item, string where, SiloSettings settings)
    {
        foreach (var entry in List(item, where))
        {
            var user = User(entry, where);
            if (settings.Nats.Users.Any(u => u.Username == user.Username))
                throw new ConfigException($"{entry.File}:{entry.Line}: duplicate user \"{user.Username}\" in {where}");
            settings.Nats.Users.Add(user);
        }
    }

    /// <summary>
    /// <c>accounts { NAME: { users: [...], jetstream: enabled } }</c> with one account: the silo serves one account, so
    /// its users are the server's users. More accounts, and what accounts share (exports, imports, mappings, limits),
    /// are refused by name rather than merged into one account.
    /// </summary>
    private static void ApplyAccounts(ConfigValue block, SiloSettings settings)
    {
        var accounts = Map(block, "accounts");
        if (accounts.Count > 1)
            throw new ConfigException($"{block.File}:{block.Line}: more than one account is not supported (accounts {string.Join(", ", accounts.Keys)})");
        foreach (var (name, rawAccount) in accounts)
        {
            var account = (ConfigValue)rawAccount;
            foreach (var (key, raw) in Map(account, $"accounts.{name}"))
            {
                var item = (ConfigValue)raw;
                switch (key.ToLowerInvariant())
                {
                    case "users": AddUsers(item, $"accounts.{name}.users", settings); break;
                    case "jetstream":
                        // The account uses the server's JetStream; only turning it off for the account would differ.
                        if (item.Value is false or "disabled" or "disable")
                            throw new ConfigException($"{item.File}:{item.Line}: \"accounts.{name}.jetstream\": disabling JetStream for an account is not supported");
                        break;
                    default: throw Unsupported(item, $"accounts.{name}.{key}");
                }
            }
        }
    }

    /// <summary>
    /// One <c>{user: a, password: b, permissions: {...}}</c> entry of a users list. Without a password the user
    /// connects with none (or an empty one), as with nats-server.
    /// </summary>
    private static NatsUser User(ConfigValue entry, string where)
    {
        string? user = null, password = null;
        NatsPermissions? permissions = null;
        foreach (var (key, raw) in Map(entry, where))
        {
            var item = (ConfigValue)raw;
            switch (key.ToLowerInvariant())
            {
                case "user" or "username": user = String(item, key); break;
                case "password" or "pass": password = String(item, key); break;
                case "permissions" or "permission": permissions = Permissions(item); break;
                default: throw Unsupported(item, $"{where}.{key}");
            }
        }
        if (user is null)
            throw new ConfigException($"{entry.File}:{entry.Line}: {where} entry without \"user\"");
        return new NatsUser { Username = user, Password = password ?? "", Permissions = permissions };
    }

    private static NatsPermissions Permissions(ConfigValue value)
    {
        SubjectPermission? publish = null, subscribe = null;
        ResponsePermission? responses = null;
        foreach (var (key, raw) in Map(value, "permissions"))
        {
            var item = (ConfigValue)raw;
            switch (key.ToLowerInvariant())
            {
                case "publish" or "pub": publish = SubjectPermission(item, $"permissions.{key}"); break;
                case "subscribe" or "sub": subscribe = SubjectPermission(item, $"permissions.{key}"); break;
                case "allow_responses" or "allow_response": responses = Responses(item, $"permissions.{key}"); break;
                default: throw Unsupported(item, $"permissions.{key}");
            }
        }
        return new NatsPermissions { Publish = publish, Subscribe = subscribe, Responses = responses };
    }

    /// <summary>A string or list (the allow list), or <c>{ allow: ..., deny: ... }</c>, as nats-server accepts.</summary>
    private static SubjectPermission SubjectPermission(ConfigValue item, string key)
    {
        if (item.Value is not Dictionary<string, object> map)
            return new SubjectPermission { Allow = Subjects(item, key) };
        List<string>? allow = null, deny = null;
        foreach (var (k, raw) in map)
        {
            var v = (ConfigValue)raw;
            switch (k.ToLowerInvariant())
            {
                case "allow": allow = Subjects(v, $"{key}.{k}"); break;
                case "deny": deny = Subjects(v, $"{key}.{k}"); break;
                default: throw Unsupported(v, $"{key}.{k}");
            }
        }
        return new SubjectPermission { Allow = allow, Deny = deny };
    }

    private static List<string> Subjects(ConfigValue item, string key)
    {
        var values = item.Value is List<object> ? List(item, key) : [item];
        var subjects = new List<string>(values.Count);
        foreach (var value in values)
        {
            var subject = String(value, key);
            if (subject.Contains(' '))
                throw new ConfigException($"{value.File}:{value.Line}: \"{key}\": queue permissions (\"{subject}\") are not supported");
            if (!SubjectRules.IsValidSubscribeSubject(System.Text.Encoding.UTF8.GetBytes(subject)))
                throw Invalid(value, key, "a subject");
            subjects.Add(subject);
        }
        return subjects;
    }

    /// <summary><c>allow_responses: true</c> or <c>{ max: 5, expires: "1m" }</c>.</summary>
    private static ResponsePermission? Responses(ConfigValue item, string key)
    {
        if (item.Value is bool enabled)
            return enabled ? new ResponsePermission() : null;
        int max = new ResponsePermission().MaxMessages;
        TimeSpan expires = new ResponsePermission().Expires;
        foreach (var (k, raw) in Map(item, key))
        {
            var v = (ConfigValue)raw;
            switch (k.ToLowerInvariant())
            {
                case "max" or "max_msgs" or "max_messages" or "max_responses": max = (int)Number(v, $"{key}.{k}"); break;
                case "expires" or "expiration" or "ttl": expires = Duration(v, $"{key}.{k}"); break;
                default: throw Unsupported(v, $"{key}.{k}");
            }
        }
        return new ResponsePermission { MaxMessages = max, Expires = expires };
    }

    /// <summary>
    /// <c>tls { cert_file, key_file, ca_file, verify, timeout }</c>. The files are read here, so a missing or bad one
    /// names the line of its key rather than failing each connection later.
    /// </summary>
    private static TlsOptions Tls(ConfigValue block, string blockKey)
    {
        var tls = new TlsOptions();
        ConfigValue? cert = null, keyFile = null, ca = null;
        foreach (var (key, raw) in Map(block, blockKey))
        {
            var item = (ConfigValue)raw;
            switch (key.ToLowerInvariant())
            {
                case "cert_file": cert = item; tls.CertFile = String(item, "tls.cert_file"); break;
                case "key_file": keyFile = item; tls.KeyFile = String(item, "tls.key_file"); break;
                case "ca_file": ca = item; tls.CaFile = String(item, "tls.ca_file"); break;
                case "verify": tls.Verify = Bool(item, "tls.verify"); break;
                case "timeout": tls.Timeout = TlsTimeout(item); break;
                default: throw Unsupported(item, $"tls.{key}");
            }
        }
        if (cert is null)
            throw new ConfigException($"{block.File}:{block.Line}: missing 'cert_file' in TLS configuration");
        if (keyFile is null)
            throw new ConfigException($"{block.File}:{block.Line}: missing 'key_file' in TLS configuration");
        foreach (var (item, key, path) in new[] { (cert, "tls.cert_file", tls.CertFile), (keyFile, "tls.key_file", tls.KeyFile), (ca, "tls.ca_file", tls.CaFile) })
        {
            if (item is not null && !File.Exists(path))
                throw new ConfigException($"{item.File}:{item.Line}: invalid value for \"{key}\": no such file \"{path}\"");
        }
        try
        {
            tls.Load();
        }
        catch (TlsConfigurationException ex)
        {
            var where = ex.Message.StartsWith("error parsing ca_file", StringComparison.Ordinal) ? ca! : cert;
            throw new ConfigException($"{where.File}:{where.Line}: {ex.Message}");
        }
        return tls;
    }

    /// <summary>nats-server writes tls.timeout as seconds, fractions allowed (0.5), or as a duration ("1s").</summary>
    private static TimeSpan TlsTimeout(ConfigValue item)
    {
        if (item.Value is string text && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction))
            return fraction > 0 ? TimeSpan.FromSeconds(fraction) : throw Invalid(item, "tls.timeout", "seconds above zero");
        return PositiveDuration(item, "tls.timeout");
    }

    /// <summary>
    /// <c>cluster { name, membership, listen | host, port, route_port }</c>. There are no <c>routes</c>: silos find each other
    /// through the membership store, so nats-server's route keys are refused rather than silently ignored.
    /// </summary>
    private static void ApplyCluster(Dictionary<string, object> map, ClusterSettings cluster, SiloSettings settings)
    {
        foreach (var (key, raw) in map)
        {
            var item = (ConfigValue)raw;
            switch (key.ToLowerInvariant())
            {
                case "name": cluster.Name = String(item, key); break;
                case "membership" or "store": cluster.Membership = String(item, $"cluster.{key}"); break;
                case "listen":
                    var (host, port) = HostPort(item, $"cluster.{key}");
                    if (host.Length > 0) cluster.Host = host;
                    settings.SiloPort = port;
                    break;
                case "host" or "net": cluster.Host = String(item, $"cluster.{key}"); break;
                case "port": settings.SiloPort = (int)Number(item, $"cluster.{key}"); break;
                case "route_port":
                    var routePort = Number(item, $"cluster.{key}");
                    cluster.RoutePort = routePort is >= 0 and <= 65535 ? (int)routePort : throw Invalid(item, $"cluster.{key}", "a port number, 0 for any free port");
                    break;
                default: throw Unsupported(item, $"cluster.{key}");
            }
        }
    }

    private static void ApplyJetStream(Dictionary<string, object> map, SiloSettings settings)
    {
        foreach (var (key, raw) in map)
        {
            var item = (ConfigValue)raw;
            switch (key.ToLowerInvariant())
            {
                case "store_dir" or "storedir": settings.Nats.StoreDirectory = String(item, key); break;
                case "sync_interval" or "sync":
                    var sync = String(item, key);
                    if (!string.Equals(sync, "always", StringComparison.OrdinalIgnoreCase) && !Durations.TryParse(sync, out _))
                        throw Invalid(item, key, "a duration such as \"2m\", or \"always\"");
                    settings.Nats.SyncInterval = sync;
                    break;
                case "enabled": settings.Nats.JetStream = Bool(item, key); break;
                // nats-server's -1 (or any negative) means its computed default; the silo's default is unlimited.
                case "max_memory_store" or "max_mem_store" or "max_mem":
                    settings.Nats.MaxMemoryStore = Math.Max(-1, Number(item, key));
                    break;
                case "max_file_store" or "max_file":
                    settings.Nats.MaxFileStore = Math.Max(-1, Number(item, key));
                    break;
                // The silo's own key (nats-server has none): see NatsOptions.MaxLogFiles.
                case "max_log_files":
                    long files = Number(item, key);
                    settings.Nats.MaxLogFiles = files is >= 0 and <= int.MaxValue ? (int)files : throw Invalid(item, key, "a number of files, 0 for the default");
                    break;
                default: throw Unsupported(item, $"jetstream.{key}");
            }
        }
    }

    private static ConfigException Unsupported(ConfigValue item, string key)
        => new($"{item.File}:{item.Line}: unsupported configuration key \"{key}\"");

    private static ConfigException Invalid(ConfigValue item, string key, string expected)
        => new($"{item.File}:{item.Line}: invalid value for \"{key}\": expected {expected}, got \"{item.Value}\"");

    private static string String(ConfigValue item, string key)
        => item.Value is string or long ? Convert.ToString(item.Value, CultureInfo.InvariantCulture)! : throw Invalid(item, key, "a string");

    private static long Number(ConfigValue item, string key)
        => item.Value is long n ? n : throw Invalid(item, key, "a number");

    private static bool Bool(ConfigValue item, string key)
        => item.Value is bool b ? b : throw Invalid(item, key, "true or false");

    private static List<ConfigValue> List(ConfigValue item, string key)
        => item.Value is List<object> list ? list.Cast<ConfigValue>().ToList() : throw Invalid(item, key, "a list [ ... ]");

    private static TimeSpan PositiveDuration(ConfigValue item, string key)
        => Duration(item, key) is var span && span > TimeSpan.Zero ? span : throw Invalid(item, key, "a duration above zero");

    private static Dictionary<string, object> Map(ConfigValue item, string key)
        => item.Value as Dictionary<string, object> ?? throw Invalid(item, key, "a block { ... }");

    /// <summary>A duration as nats-server writes them: "2m", "500ms", "1h30m", or a number of seconds.</summary>
    private static TimeSpan Duration(ConfigValue item, string key)
    {
        if (item.Value is long seconds)
            return TimeSpan.FromSeconds(seconds);
        if (item.Value is string text && Durations.TryParse(text, out var span))
            return span;
        throw Invalid(item, key, "a duration such as \"2m\" or \"500ms\"");
    }

    private static (string Host, int Port) HostPort(ConfigValue item, string key)
    {
        if (item.Value is long port)
            return ("", (int)port);
        var text = String(item, key);
        int colon = text.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var p))
            throw Invalid(item, key, "host:port");
        return (text[..colon], p);
    }
}
