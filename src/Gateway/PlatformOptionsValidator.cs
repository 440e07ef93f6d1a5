using Microsoft.Extensions.Options;

namespace Platform.Gateway;

/// <summary>Checks <see cref="PlatformOptions"/> with every problem in one message, as the provider's options are checked.</summary>
internal sealed class PlatformOptionsValidator : IValidateOptions<PlatformOptions>
{
    public ValidateOptionsResult Validate(string? name, PlatformOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.StoreDirectory))
            failures.Add("StoreDirectory is required");
        try
        {
            GatewayHosting.ParseSync(options.SyncInterval ?? "");
        }
        catch (ArgumentException ex)
        {
            failures.Add($"SyncInterval: {ex.Message}");
        }
        if (string.IsNullOrWhiteSpace(options.StreamProvider))
            failures.Add("StreamProvider: a provider name is required");
        if (options.NatsGateway)
            CheckNats(options.Nats, failures);
        return failures.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(failures.Select(f => $"Platform options: {f}"));
    }

    private static void CheckNats(NatsOptions nats, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(nats.Host))
            failures.Add("Nats:Host is required");
        if (nats.Port is < -1 or > 65535)
            failures.Add($"Nats:Port: {nats.Port} is not a port (-1 picks a free one)");
        if (nats.HttpPort != 0)
            failures.Add($"Nats:HttpPort: {nats.HttpPort}, but AddPlatform serves no monitoring port (the silo executable does): leave it 0");
        if (nats.MaxPayload < 1)
            failures.Add($"Nats:MaxPayload: {nats.MaxPayload} must be positive");
        if (nats.MaxPending < nats.MaxPayload)
            failures.Add($"Nats:MaxPending: {nats.MaxPending} must be at least MaxPayload ({nats.MaxPayload})");
        if (nats.MaxConnections < 1)
            failures.Add($"Nats:MaxConnections: {nats.MaxConnections} must be positive");
    }
}
