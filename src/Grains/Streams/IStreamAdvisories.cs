namespace Platform.Grains.Streams;

/// <summary>
/// Stream advisories a stream grain raises, published by the gateway of the silo it runs on (only when someone
/// listens). Called in the grain's turn; must not block.
/// </summary>
public interface IStreamAdvisories
{
    /// <summary>2.12's $JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED: an atomic batch was dropped ("timeout", "large" or "incomplete").</summary>
    void BatchAbandoned(string stream, string batch, string reason);
}
