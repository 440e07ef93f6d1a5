using System.Globalization;
using Platform.Gateway.Security;

namespace Platform.Silo.Configuration;

/// <summary>nats-server's common flags, so scripts written for nats-server start the silo unchanged.</summary>
internal static class CommandLine
{
    public const string Usage = """
        Usage: Platform.Silo [options]

        Server Options:
            -a, --addr, --net <host>         Bind to host address (default: 127.0.0.1)
            -p, --port <port>                Use port for clients (default: 4222, -1 for any free port)
            -n, --name, --server_name <name> Server name (default: auto)
            -m, --http_port <port>           Use port for http monitoring (default: 8222, 0 to disable, -1 for any)
            -c, --config <file>              Configuration file (nats-server format)
            --ports_file_dir <dir>           Write a <name>_<pid>.ports file with the bound URLs to this directory
            --silo_port <port>               Orleans silo port (default: 11111, -1 for any free port)
            --orleans_gateway_port <port>    Orleans client gateway port (default: 30000, -1 for any free port)
            --orleans_streams <ns>[,<ns>...] With -js: Orleans stream namespaces served by the "platform" stream
                                             provider (each is the platform stream of that name)
            --memory_budget <size>           Hard limit of the silo's managed heap, e.g. 256MB (at least 128MB;
                                             default: none); the stream logs' memtables get a quarter of it

        Cluster Options:
            --cluster_name <name>            Cluster name; with --cluster_store the silo joins that Orleans cluster
            --cluster_store <url>            Membership store: postgres://user:pass@host:port/db (or an Npgsql
                                             connection string), or redis://host:port; turns cluster mode on,
                                             then -n is required
            --route_port <port>              Port for core NATS routes from other silos (default: any free port)
            --cluster <url>                  Orleans silo endpoint, nats://host:port (same as --silo_port with a host)
            --client_advertise <host:port>   NATS client URL advertised to clients of other silos (connect_urls)

        JetStream Options:
            -js, --jetstream                 Enable JetStream functionality
            -sd, --store_dir <dir>           Set the storage directory (default: ./data)

        Authorization Options:
            --user <user>                    User required for connections
            --pass <password>                Password required for connections
            --auth <token>                   Authorization token required for connections

        TLS Options:
            --tls                            Enable TLS, do not verify clients (default: false)
            --tlscert <file>                 Server certificate file
            --tlskey <file>                  Private key for server certificate
            --tlsverify                      Enable TLS, verify client certificates
            --tlscacert <file>               Client certificate CA for verification

        Logging Options:
            -l, --log <file>                 File to redirect log output
            -D, --debug                      Enable debugging output
            -V, --trace                      Trace the raw protocol

        Signal Options:
            -sl, --signal <signal>[=<pid>]   Send a signal to a running silo: ldm (lame duck mode), term, quit, stop.
                                             Without a pid, the one process named Platform.Silo is signalled.

        Common Options:
            -h, --help                       Show this message
            -v, --version                    Show version
        """;

    public enum Outcome { Run, Help, Version, Signal }

    /// <summary>Applies the flags to <paramref name="settings"/>; throws <see cref="ConfigException"/> on a bad flag.</summary>
    public static Outcome Apply(string[] args, SiloSettings settings)
    {
        var nats = settings.Nats;
        for (int i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string flag = arg, inlineValue = "";
            bool hasInline = false;
            if (arg.StartsWith('-') && arg.IndexOf('=') is var eq and > 0)
            {
                flag = arg[..eq];
                inlineValue = arg[(eq + 1)..];
                hasInline = true;
            }
            string Value()
            {
                if (hasInline) return inlineValue;
                if (i + 1 >= args.Length) throw new ConfigException($"flag needs an argument: {flag}");
                return args[++i];
            }
            switch (flag.TrimStart('-'))
            {
                case "h" or "help": return Outcome.Help;
                case "v" or "version": return Outcome.Version;
                case "a" or "addr" or "net": nats.Host = Value(); break;
                case "p" or "port": nats.Port = Int(flag, Value()); break;
                case "n" or "name" or "server_name": nats.ServerName = Value(); break;
                case "m" or "http_port": nats.HttpPort = Int(flag, Value()); break;
                case "c" or "config": settings.ConfigFile = Value(); break;
                case "ports_file_dir": settings.PortsFileDirectory = Value(); break;
                case "silo_port": settings.SiloPort = Int(flag, Value()); break;
                case "orleans_gateway_port": settings.OrleansGatewayPort = Int(flag, Value()); break;
                case "orleans_streams": settings.OrleansStreamNamespaces = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                case "memory_budget": nats.MemoryBudget = MemoryBudgetSize(flag, Value()); break;
                case "cluster_name": settings.Cluster.Name = Value(); break;
                case "cluster_store": settings.Cluster.Membership = Value(); break;
                case "route_port": settings.Cluster.RoutePort = Int(flag, Value()); break;
                case "cluster":
                    var (clusterHost, clusterPort) = ClusterUrl(flag, Value());
                    settings.Cluster.Host = clusterHost;
                    settings.SiloPort = clusterPort;
                    break;
                case "client_advertise": settings.ClientAdvertise = Value(); break;
                case "js" or "jetstream": nats.JetStream = !hasInline || Bool(flag, inlineValue); break;
                case "sd" or "store_dir": nats.StoreDirectory = Value(); break;
                case "user": nats.Username = Value(); break;
                case "pass": nats.Password = Value(); break;
                case "auth": nats.AuthToken = Value(); break;
                case "tls":
                    if (!hasInline || Bool(flag, inlineValue))
                        nats.Tls ??= new TlsOptions();
                    else
                        nats.Tls = null;
                    break;
                case "tlscert": (nats.Tls ??= new TlsOptions()).CertFile = Value(); break;
                case "tlskey": (nats.Tls ??= new TlsOptions()).KeyFile = Value(); break;
                case "tlscacert": (nats.Tls ??= new TlsOptions()).CaFile = Value(); break;
                case "tlsverify":
                    if (!hasInline || Bool(flag, inlineValue))
                        (nats.Tls ??= new TlsOptions()).Verify = true;
                    else if (nats.Tls is { } tls)
                        tls.Verify = false;
                    break;
                case "l" or "log": settings.LogFile = Value(); break;
                case "D" or "debug": settings.Debug = true; break;
                case "V" or "trace": settings.Trace = true; break;
                case "DV" or "VD": settings.Debug = settings.Trace = true; break;
                case "sl" or "signal":
                    settings.Signal = Value();
                    return Outcome.Signal;
                default: throw new ConfigException($"flag provided but not defined: {arg}");
            }
        }
        return Outcome.Run;
    }

    /// <summary>nats-server's --cluster form: nats://host:port (the scheme is optional).</summary>
    internal static (string Host, int Port) ClusterUrl(string flag, string value)
    {
        var text = value.Contains("://", StringComparison.Ordinal) ? value : "nats://" + value;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Port <= 0 || uri.Host.Length == 0)
            throw new ConfigException($"invalid value \"{value}\" for flag {flag}: expected nats://host:port");
        return (uri.Host, uri.Port);
    }

    private static int Int(string flag, string value)
        => int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n : throw new ConfigException($"invalid value \"{value}\" for flag {flag}: parse error");

    private static long MemoryBudgetSize(string flag, string value)
    {
        long bytes = 0;
        bool parsed = value == "0" || ConfigFile.TryParseSize(value, out bytes);
        return parsed && MemoryBudget.IsValid(bytes) ? bytes
            : throw new ConfigException($"invalid value \"{value}\" for flag {flag}: expected {MemoryBudget.Expected}");
    }

    private static bool Bool(string flag, string value)
        => bool.TryParse(value, out var b) ? b : throw new ConfigException($"invalid boolean value \"{value}\" for flag {flag}");
}
