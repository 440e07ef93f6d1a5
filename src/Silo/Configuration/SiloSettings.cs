using Platform.Gateway;

namespace Platform.Silo.Configuration;

/// <summary>Everything the silo is started with: the NATS server options plus the Orleans and process settings.</summary>
internal sealed class SiloSettings
{
    public NatsOptions Nats { get; } = new();
    /// <summary>Orleans silo-to-silo port; -1 picks a free one.</summary>
    public int SiloPort { get; set; } = 11111;
    /// <summary>Orleans client gateway port; -1 picks a free one.</summary>
    public int OrleansGatewayPort { get; set; } = 30000;
    /// <summary>The cluster block; off unless a membership store is given.</summary>
    public ClusterSettings Cluster { get; } = new();
    /// <summary>--orleans_streams: namespaces of the Orleans stream provider "platform" (with JetStream only).</summary>
    public string[] OrleansStreamNamespaces { get; set; } = [];
    /// <summary>client_advertise: the host:port other silos' clients are told (connect_urls); default the bound one.</summary>
    public string? ClientAdvertise { get; set; }
    public string? PortsFileDirectory { get; set; }
    public string? ConfigFile { get; set; }
    public string? LogFile { get; set; }
    public bool Debug { get; set; }
    public bool Trace { get; set; }
    /// <summary>--signal: a signal name and optional pid to send to a running silo instead of running one.</summary>
    public string? Signal { get; set; }
}
