using System.Text.Json.Serialization;

namespace Platform.Grains.Streams;

/// <summary>
/// A stream's <c>republish</c>: every stored message whose subject matches <see cref="Source"/> is published again,
/// after it is stored, on the subject <see cref="Destination"/> maps it to, with the stream's headers (and only the
/// headers when <see cref="HeadersOnly"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.RePublishConfig")]
public sealed record RePublishConfig
{
    [Id(0), JsonPropertyName("src"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Source { get; init; }
    [Id(1), JsonPropertyName("dest")] public string Destination { get; init; } = "";
    [Id(2), JsonPropertyName("headers_only"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool HeadersOnly { get; init; }
}
