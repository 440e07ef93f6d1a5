using StackExchange.Redis;
using Platform.Silo.Configuration;

namespace Platform.Silo.Cluster;

/// <summary>
/// Redis as the cluster's store, the alternative to PostgreSQL: Orleans membership (Microsoft.Orleans.Clustering.Redis)
/// and grain state, the stream catalog's included (Microsoft.Orleans.Persistence.Redis, whose writes check the etag as
/// the catalog needs). Run it with persistence on (appendonly yes): membership and the catalog must survive its restart.
/// </summary>
internal static class RedisStore
{
    public static bool Is(string store)
        => store.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) || store.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase);

    /// <summary>The connection from <c>redis://[user:password@]host[:port][/database]</c> (<c>rediss://</c> for TLS).</summary>
    public static ConfigurationOptions Options(string store)
    {
        if (!Uri.TryCreate(store, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
            throw new ConfigException($"invalid cluster membership store \"{store}\": expected redis://[user:password@]host[:port][/database]");
        var options = new ConfigurationOptions
        {
            // A silo that starts while Redis restarts waits for it instead of failing at once.
            AbortOnConnectFail = false,
            Ssl = uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase),
        };
        options.EndPoints.Add(uri.Host, uri.Port > 0 ? uri.Port : 6379);
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            if (parts.Length == 2)
            {
                if (parts[0].Length > 0)
                    options.User = Uri.UnescapeDataString(parts[0]);
                options.Password = Uri.UnescapeDataString(parts[1]);
            }
            else
            {
                options.Password = Uri.UnescapeDataString(parts[0]);
            }
        }
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            if (!int.TryParse(path, out var database) || database < 0)
                throw new ConfigException($"invalid cluster membership store \"{store}\": the path names a database number");
            options.DefaultDatabase = database;
        }
        return options;
    }
}
