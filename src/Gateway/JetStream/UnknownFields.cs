using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Platform.Gateway.JetStream;

/// <summary>
/// Finds a field of a configuration the silo does not know (a newer server's feature): the API refuses it by name
/// rather than accept the request and drop what was asked. A field left at its empty value (null, false, 0, "", [] or
/// {}) asks for nothing and passes, as clients send some fields whatever their value.
/// </summary>
internal static class UnknownFields
{
    private static readonly ConcurrentDictionary<Type, HashSet<string>> Known = new();

    public static string? Find(JsonElement config, JsonTypeInfo type)
    {
        if (config.ValueKind != JsonValueKind.Object)
            return null;
        var known = Known.GetOrAdd(type.Type, _ =>
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in type.Properties)
                names.Add(property.Name);
            return names;
        });
        foreach (var property in config.EnumerateObject())
            if (!known.Contains(property.Name) && !IsEmpty(property.Value))
                return property.Name;
        return null;
    }

    private static bool IsEmpty(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.False or JsonValueKind.Undefined => true,
        JsonValueKind.Number => value.TryGetDouble(out double d) && d == 0,
        JsonValueKind.String => value.GetString()!.Length == 0,
        JsonValueKind.Array => value.GetArrayLength() == 0,
        JsonValueKind.Object => !value.EnumerateObject().Any(),
        _ => false,
    };
}
