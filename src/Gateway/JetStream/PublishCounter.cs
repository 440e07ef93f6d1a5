namespace Platform.Gateway.JetStream;

/// <summary>One connection's pipelined batches to one stream partition: how many were sent, and up to which one were answered.</summary>
internal sealed class PublishCounter
{
    /// <summary>Written by the read loop only.</summary>
    public ulong Sent;

    /// <summary>Written by the drain, which completes rounds in order; read by the read loop.</summary>
    public ulong Answered;
}
