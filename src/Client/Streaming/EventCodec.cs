using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace Platform.Grains.Streaming;

/// <summary>
/// How Orleans stream events are stored as platform messages, so NATS clients can read them and publish them:
/// the payload is the event as System.Text.Json serializes its runtime type, and the header <c>Orleans-Type</c> names
/// that type (<c>Full.Type.Name, AssemblyName</c>). A message without the header (e.g. published by a NATS client)
/// is read as the subscriber's event type: the raw payload for <c>byte[]</c>, UTF-8 text for <c>string</c>, JSON otherwise.
/// </summary>
public static class EventCodec
{
    public const string TypeHeader = "Orleans-Type";

    private static readonly ConcurrentDictionary<string, Type?> Types = new(StringComparer.Ordinal);

    public static string TypeName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";

    public static byte[] Serialize(object? value) => value switch
    {
        null => "null"u8.ToArray(),
        byte[] bytes => bytes,
        _ => JsonSerializer.SerializeToUtf8Bytes(value, value.GetType()),
    };

    /// <summary>The event as <typeparamref name="T"/>, or false when the message holds another type of event.</summary>
    public static bool TryDeserialize<T>(string? typeName, ReadOnlySpan<byte> payload, out T? value)
    {
        var target = typeof(T);
        if (typeName is not null)
        {
            var stored = Types.GetOrAdd(typeName, static name => Type.GetType(name, throwOnError: false));
            // A subscriber of object (or a base type) gets the stored type; one of an unrelated type skips the event.
            if (stored is not null && target.IsAssignableFrom(stored))
                target = stored;
            else if (stored is null || !stored.IsAssignableTo(target))
            {
                value = default;
                return false;
            }
        }
        if (target == typeof(byte[]))
            value = (T)(object)payload.ToArray();
        else if (target == typeof(string) && typeName is null)
            value = (T)(object)Encoding.UTF8.GetString(payload);
        else
            value = (T?)JsonSerializer.Deserialize(payload, target);
        return true;
    }
}
