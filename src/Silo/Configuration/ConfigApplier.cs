using System.Globalization;
using Platform.Gateway;

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
                case "ports_file_dir": settings.PortsFileDirectory = String(item, key); break;
                case "debug": settings.Debug = Bool(item, key); break;
                case "trace": settings.Trace = Bool(item, key); break;
                case "log_file": settings.LogFile = String(item, key); break;
                case "authorization": ApplyAuthorization(Map(item, key), settings); break;
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
                default: throw Unsupported(item, $"authorization.{key}");
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
