using Platform.Grains.Streaming;

namespace Platform.Gateway;

/// <summary>
/// What <see cref="PlatformHosting.AddPlatform"/> adds to a silo, bound from the configuration section
/// <c>Platform</c> (e.g. <c>Platform:StoreDirectory</c>, <c>Platform:Nats:Port</c>) and then from code; checked by
/// <see cref="PlatformOptionsValidator"/>. The stream provider's own options come from <c>Platform:Streams</c>.
/// </summary>
public sealed class PlatformOptions
{
    public const string SectionName = "Platform";

    /// <summary>Where the streams live (nats-server's store_dir); each silo needs its own.</summary>
    public string StoreDirectory { get; set; } = "./data";

    /// <summary>How often stream logs are fsynced: a duration such as <c>2m</c>, or <c>always</c> (group commit before every ack).</summary>
    public string SyncInterval { get; set; } = "2m";

    /// <summary>The name of the Orleans stream provider over the platform's streams (<c>this.GetStreamProvider(name)</c>).</summary>
    public string StreamProvider { get; set; } = PlatformStreamsHosting.DefaultName;

    /// <summary>
    /// Keep explicit subscriptions (Orleans' <c>PubSubStore</c>) in files under <see cref="StoreDirectory"/>, for a silo
    /// alone; false when the host registers a <c>PubSubStore</c> grain storage of its own (a cluster shares one).
    /// </summary>
    public bool KeepSubscriptionsInStore { get; set; } = true;

    /// <summary>Listen for NATS clients (core NATS and JetStream) as <see cref="Nats"/> says; false serves Orleans alone.</summary>
    public bool NatsGateway { get; set; } = true;

    /// <summary>
    /// The NATS listener: host, port (-1 for a free one), limits, authorization, TLS. Its store settings and JetStream
    /// are the platform's (<see cref="StoreDirectory"/>, <see cref="SyncInterval"/>); it serves no monitoring port.
    /// </summary>
    public NatsOptions Nats { get; set; } = new() { HttpPort = 0 };
}
