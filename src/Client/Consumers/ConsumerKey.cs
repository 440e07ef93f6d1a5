namespace Platform.Grains.Consumers;

/// <summary>Consumer grains are keyed "stream/consumer": names may not contain '/', so the split is unambiguous.</summary>
public static class ConsumerKey
{
    public static string Of(string stream, string consumer) => stream + "/" + consumer;

    public static (string Stream, string Consumer) Parse(string key)
    {
        int slash = key.IndexOf('/');
        return (key[..slash], key[(slash + 1)..]);
    }
}
