using Microsoft.Extensions.Options;
using Platform.Grains.Streams;

namespace Platform.Grains.Streaming;

/// <summary>
/// Checks one provider's options when it starts, with every problem in one message: namespaces and the dead-letter
/// stream are valid stream names (the same rules as the JetStream API), no namespace twice, sizes in range.
/// </summary>
internal sealed class PlatformStreamOptionsValidator(string provider) : IValidateOptions<PlatformStreamOptions>
{
    public const int MaxQueuesPerNamespace = 64;

    public ValidateOptionsResult Validate(string? name, PlatformStreamOptions options)
    {
        if (name != provider)
            return ValidateOptionsResult.Skip;
        var failures = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ns in options.Namespaces)
        {
            if (NameRules.CheckStream(ns) is { } invalid)
                failures.Add($"Namespaces: \"{ns}\" is not a valid stream name ({invalid.Description})");
            else if (!seen.Add(ns))
                failures.Add($"Namespaces: \"{ns}\" is listed twice");
        }
        if (options.DeadLetterStream is { } dead)
        {
            if (NameRules.CheckStream(dead) is { } invalid)
                failures.Add($"DeadLetterStream: \"{dead}\" is not a valid stream name ({invalid.Description})");
            else if (seen.Contains(dead))
                failures.Add($"DeadLetterStream: \"{dead}\" is also a namespace");
        }
        if (options.QueuesPerNamespace is < 1 or > MaxQueuesPerNamespace)
            failures.Add($"QueuesPerNamespace: {options.QueuesPerNamespace} is not between 1 and {MaxQueuesPerNamespace}");
        if (options.ReadBatchSize < 1)
            failures.Add($"ReadBatchSize: {options.ReadBatchSize} must be at least 1");
        if (options.MaxCachedRecords < options.ReadBatchSize)
            failures.Add($"MaxCachedRecords: {options.MaxCachedRecords} must be at least ReadBatchSize ({options.ReadBatchSize})");
        if (options.UnclaimedGrace < TimeSpan.Zero)
            failures.Add($"UnclaimedGrace: {options.UnclaimedGrace} must not be negative");
        return failures.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(failures.Select(f => $"Platform stream provider \"{provider}\": {f}"));
    }
}
