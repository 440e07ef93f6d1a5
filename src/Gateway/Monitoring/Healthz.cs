using Microsoft.AspNetCore.Http;

namespace Platform.Gateway.Monitoring;

/// <summary>
/// /healthz as nats-server 2.9.10 answers it (checked against the real binary): {"status":"ok"}, compact, with or
/// without JetStream, also for js-enabled=true and js-enabled-only=true on a server without JetStream; an unparsable
/// value for either is a 400. With JetStream on, nats-server reports 503 {"status":"unavailable","error":...} until
/// its stored streams are recovered, unless js-enabled-only asks only whether JetStream is on; the silo's equivalent
/// of "recovered" is the JetStream API having loaded the stream catalog and consumers.
/// </summary>
internal static class Healthz
{
    public static Task Handle(MonitoringContext context, HttpContext http)
    {
        if (!MonitoringEndpoints.TryBool(http, "js-enabled", out _, out var error)
            || !MonitoringEndpoints.TryBool(http, "js-enabled-only", out bool enabledOnly, out error))
            return MonitoringEndpoints.BadRequest(http, error!);
        if (context.JetStream is { Api.Started: false } && !enabledOnly)
        {
            return MonitoringEndpoints.WriteJson(http, w =>
            {
                w.WriteString("status", "unavailable");
                w.WriteString("error", "JetStream streams are not loaded yet");
            }, indented: false, status: StatusCodes.Status503ServiceUnavailable);
        }
        return MonitoringEndpoints.WriteJson(http, w => w.WriteString("status", "ok"), indented: false);
    }
}
