namespace Platform.Gateway.Protocol;

/// <summary>The -ERR texts of nats-server, byte for byte.</summary>
internal static class ProtocolErrors
{
    public const string UnknownOperation = "Unknown Protocol Operation";
    public const string AuthorizationViolation = "Authorization Violation";
    public const string AuthenticationTimeout = "Authentication Timeout";
    public const string MaxControlLineExceeded = "maximum control line exceeded";
    public const string MaxPayloadViolation = "Maximum Payload Violation";
    public const string StaleConnection = "Stale Connection";
    public const string MaxConnectionsExceeded = "maximum connections exceeded";
    public const string InvalidSubject = "Invalid Subject";
    public const string InvalidPublishSubject = "Invalid Publish Subject";
    public const string InvalidClientProtocol = "invalid client protocol";
    public const string NoRespondersRequiresHeaders = "no responders requires headers support";
}
