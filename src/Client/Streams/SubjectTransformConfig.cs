using System.Text.Json.Serialization;

namespace Platform.Grains.Streams;

/// <summary>
/// A subject transform as 2.10 configures it: <c>{"src","dest"}</c>, used by a stream's <c>subject_transform</c>
/// (what subject a captured message is stored under) and by mirrors' and sources' <c>subject_transforms</c>.
/// An empty source means "&gt;".
/// </summary>
[GenerateSerializer, Immutable, Alias("platform.SubjectTransformConfig")]
public sealed record SubjectTransformConfig
{
    [Id(0), JsonPropertyName("src")] public string Source { get; init; } = "";
    [Id(1), JsonPropertyName("dest")] public string Destination { get; init; } = "";
}
