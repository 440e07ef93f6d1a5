using Microsoft.AspNetCore.Http;
using Platform.Gateway.JetStream;

namespace Platform.Gateway.Monitoring;

/// <summary>
/// /routez: the routes to the other silos of the cluster (see Cluster/ClusterRoutes), in nats-server's shape as far
/// as a route between silos has the same facts: num_routes, and per route the remote silo's Orleans name and
/// endpoint, the bytes waiting to go (pending_size), nats-server's counters (in_msgs, out_msgs, in_bytes, out_bytes:
/// messages and their header + payload bytes) and the subscriptions the peer announced (subscriptions, and their
/// subjects in subscriptions_list with subs=1). A silo alone has none.
/// </summary>
internal static class Routez
{
    public static Task Handle(MonitoringContext context, HttpContext http)
    {
        if (!MonitoringEndpoints.TryBool(http, "subs", out bool subs, out var error))
            return MonitoringEndpoints.BadRequest(http, error!);
        var server = context.Server;
        var routes = server.Routes?.OpenRoutes ?? [];
        return MonitoringEndpoints.WriteJson(http, w =>
        {
            w.WriteString("server_id", server.Info.ServerId);
            w.WriteString("now", ApiJson.Time(DateTime.UtcNow));
            w.WriteNumber("num_routes", routes.Length);
            w.WriteStartArray("routes");
            for (int i = 0; i < routes.Length; i++)
            {
                var route = routes[i];
                w.WriteStartObject();
                w.WriteNumber("rid", i + 1);
                w.WriteString("remote_id", route.Silo.ToParsableString());
                w.WriteBoolean("did_solicit", true);
                w.WriteBoolean("is_configured", false);
                w.WriteString("ip", route.Silo.Endpoint.Address.ToString());
                w.WriteNumber("port", route.Silo.Endpoint.Port);
                w.WriteNumber("pending_size", route.Outbox.PendingBytes);
                w.WriteNumber("in_msgs", route.InMsgs);
                w.WriteNumber("out_msgs", route.OutMsgs);
                w.WriteNumber("in_bytes", route.InBytes);
                w.WriteNumber("out_bytes", route.OutBytes);
                w.WriteNumber("subscriptions", route.Subscriptions);
                if (subs)
                {
                    w.WriteStartArray("subscriptions_list");
                    foreach (var subject in route.SubscriptionSubjects())
                        w.WriteStringValue(subject);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }
}
