using Platform.Silo.Configuration;

namespace Platform.IntegrationTests.Cluster;

/// <summary>The cluster block and flags, read as nats-server reads its own (keys it has and we cannot honour are refused).</summary>
public sealed class ClusterConfigurationTests
{
    [Fact]
    public void The_cluster_block_sets_name_store_and_silo_endpoint()
    {
        var settings = new SiloSettings();
        ConfigApplier.Apply(ConfigFile.Parse("""
            server_name: n1
            client_advertise: "10.0.0.5:4222"
            cluster {
              name: prod
              membership: "postgres://silo:pw@db:5432/orleans"
              listen: 10.0.0.5:6222
            }
            """, "silo.conf"), settings);
        Assert.True(settings.Cluster.Enabled);
        Assert.Equal("prod", settings.Cluster.Name);
        Assert.Equal("postgres://silo:pw@db:5432/orleans", settings.Cluster.Membership);
        Assert.Equal("10.0.0.5", settings.Cluster.Host);
        Assert.Equal(6222, settings.SiloPort);
        Assert.Equal("10.0.0.5:4222", settings.ClientAdvertise);
    }

    [Fact]
    public void Flags_in_nats_server_spirit_set_the_same()
    {
        var settings = new SiloSettings();
        CommandLine.Apply(["-n", "n2", "--cluster_name", "prod", "--cluster_store", "postgres://db/orleans", "--cluster", "nats://127.0.0.1:6223"], settings);
        Assert.Equal("n2", settings.Nats.ServerName);
        Assert.Equal("prod", settings.Cluster.Name);
        Assert.Equal("postgres://db/orleans", settings.Cluster.Membership);
        Assert.Equal("127.0.0.1", settings.Cluster.Host);
        Assert.Equal(6223, settings.SiloPort);
    }

    [Fact]
    public void Routes_are_refused_with_file_and_line_because_silos_find_each_other_through_membership()
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigApplier.Apply(ConfigFile.Parse("""
            cluster {
              name: prod
              routes: ["nats://a:6222"]
            }
            """, "silo.conf"), new SiloSettings()));
        Assert.Equal("silo.conf:3: unsupported configuration key \"cluster.routes\"", ex.Message);
    }

    [Fact]
    public void A_postgres_url_becomes_an_npgsql_connection_string()
    {
        var cs = Platform.Silo.Cluster.MembershipStore.ConnectionString("postgres://silo:p%40ss@db.local:6543/orleans?Timeout=5");
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(cs);
        Assert.Equal("db.local", builder.Host);
        Assert.Equal(6543, builder.Port);
        Assert.Equal("silo", builder.Username);
        Assert.Equal("p@ss", builder.Password);
        Assert.Equal("orleans", builder.Database);
        Assert.Equal(5, builder.Timeout);
    }
}
