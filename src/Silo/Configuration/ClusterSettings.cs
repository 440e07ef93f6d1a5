namespace Platform.Silo.Configuration;

/// <summary>
/// The <c>cluster { ... }</c> block and its flags. Cluster mode is on when a membership store is given; the silo then
/// joins the Orleans cluster <see cref="Name"/> whose membership table lives in that PostgreSQL database.
/// </summary>
internal sealed class ClusterSettings
{
    /// <summary>Cluster name (<c>name</c>, <c>--cluster_name</c>): the Orleans ClusterId and ServiceId, and INFO's "cluster".</summary>
    public string? Name { get; set; }

    /// <summary>Membership store (<c>membership</c>, <c>--cluster_store</c>): a PostgreSQL URL or Npgsql connection string.</summary>
    public string? Membership { get; set; }

    /// <summary>Address the Orleans silo port listens on and advertises to the other silos (<c>host</c>, or the host of
    /// <c>listen</c>/<c>--cluster</c>); null: the client address (<c>-a</c>), or loopback when that is 0.0.0.0.</summary>
    public string? Host { get; set; }

    public bool Enabled => Membership is not null;
}
