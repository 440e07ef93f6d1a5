namespace Platform.Gateway.Security;

/// <summary>One entry of <c>authorization { users = [...] }</c>.</summary>
public sealed class NatsUser
{
    public required string Username { get; init; }
    /// <summary>Plain text, or a bcrypt hash (<c>$2a$</c>, <c>$2b$</c>, <c>$2y$</c>).</summary>
    public required string Password { get; init; }
    /// <summary>Null: the user may publish and subscribe to anything.</summary>
    public NatsPermissions? Permissions { get; init; }
}

/// <summary>A user's <c>permissions { publish, subscribe, allow_responses }</c>.</summary>
public sealed class NatsPermissions
{
    public SubjectPermission? Publish { get; init; }
    public SubjectPermission? Subscribe { get; init; }
    /// <summary>allow_responses: the user may publish to the reply subjects of requests it received.</summary>
    public ResponsePermission? Responses { get; init; }
}

/// <summary>Allow and deny lists of subjects (wildcards allowed). A null allow list allows everything; deny wins.</summary>
public sealed class SubjectPermission
{
    public IReadOnlyList<string>? Allow { get; init; }
    public IReadOnlyList<string>? Deny { get; init; }
}

/// <summary>nats-server's defaults for <c>allow_responses: true</c>: one reply per request, within two minutes.</summary>
public sealed class ResponsePermission
{
    public int MaxMessages { get; init; } = 1;
    public TimeSpan Expires { get; init; } = TimeSpan.FromMinutes(2);
}
