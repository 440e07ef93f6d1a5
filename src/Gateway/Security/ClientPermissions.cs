namespace Platform.Gateway.Security;

/// <summary>A user's permissions compiled once and shared by all its connections (and their caches).</summary>
internal sealed class ClientPermissions
{
    public ClientPermissions(NatsPermissions permissions)
    {
        Responses = permissions.Responses;
        var publish = permissions.Publish;
        // As nats-server: allow_responses without publish permissions allows publishing to nothing but replies.
        if (publish is null && Responses is not null)
            publish = new SubjectPermission { Allow = [] };
        if (publish is not null)
            Publish = new SubjectAccess(publish.Allow, publish.Deny);
        if (permissions.Subscribe is { } subscribe)
        {
            Subscribe = new SubjectAccess(subscribe.Allow, subscribe.Deny);
            // A wildcard subscription may be allowed and still cover denied subjects ("&gt;" with deny "z.&gt;");
            // like nats-server, messages on denied subjects are then not delivered.
            if (subscribe.Deny is { Count: > 0 } deny)
                DeliveryFilter = new SubjectAccess(null, deny);
        }
    }

    /// <summary>Null: publishing anywhere is allowed.</summary>
    public SubjectAccess? Publish { get; }
    /// <summary>Null: subscribing anywhere is allowed.</summary>
    public SubjectAccess? Subscribe { get; }
    /// <summary>The subscribe deny list applied to each delivered message; null when there is none.</summary>
    public SubjectAccess? DeliveryFilter { get; }
    public ResponsePermission? Responses { get; }
}
