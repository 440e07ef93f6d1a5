namespace Platform.Silo.Configuration;

/// <summary>
/// The <c>cluster { ... }</c> block and its flags. Cluster mode is on when a membership store is given; the silo then
/// joins the Orleans cluster <see cref="Name"/> whose membership lives in that PostgreSQL database or Redis.
/// </summary>
internal sealed class ClusterSettings
{
    /// <summary>Cluster name (<c>name</c>, <c>--cluster_name</c>): the Orleans ClusterId and ServiceId, and INFO's "cluster".</summary>
    public string? Name { get; set; }

    /// <summary>Membership store (<c>membership</c>, <c>--cluster_store</c>): a PostgreSQL URL or Npgsql connection string, or a redis:// URL.</summary>
    public string? Membership { get; set; }

    /// <summary>Address the Orleans silo port listens on and advertises to the other silos (<c>host</c>, or the host of
    /// <c>listen</c>/<c>--cluster</c>); null: the client address (<c>-a</c>), or loopback when that is 0.0.0.0.</summary>
    public string? Host { get; set; }

    /// <summary>The port core NATS routes from other silos arrive on (<c>route_port</c>, <c>--route_port</c>), on <see cref="Host"/>'s
    /// address; 0: a free one, chosen at start and advertised through Orleans.</summary>
    public int RoutePort { get; set; }

    public bool Enabled => Membership is not null;
}
