using System.Text;

namespace Platform.Grains.Streams;

/// <summary>
/// What a stream or consumer name may hold, with nats-server's errors: no path separators (10128 for streams, 10127 for
/// consumers), no '.', '*', '>' or whitespace, at most 255 bytes of UTF-8. NUL and other control characters are refused
/// as invalid names too: nats-server lets them through to its file system and fails there ("error creating store").
/// Names are checked here, before any grain or file is touched; <see cref="Storage.StorePaths"/> keeps even an
/// unchecked name inside the store.
/// </summary>
public static class NameRules
{
    public const int MaxBytes = 255;

    public static readonly ApiError StreamPathSeparators = new(400, 10128, "Stream name can not contain path separators");
    public static readonly ApiError InvalidStreamName = ApiError.InvalidConfig("stream name is required and can not contain '.', '*', '>'");
    public static readonly ApiError StreamNameTooLong = ApiError.InvalidConfig($"stream name is too long, maximum allowed is {MaxBytes}");
    public static readonly ApiError ConsumerPathSeparators = new(400, 10127, "Consumer name can not contain path separators");
    public static readonly ApiError InvalidConsumerName = new(400, 10103, "durable name can not contain '.', '*', '>'");
    public static readonly ApiError ConsumerNameTooLong = new(400, 10102, $"consumer name is too long, maximum allowed is {MaxBytes}");

    public static ApiError? CheckStream(string? name) => Check(name, StreamPathSeparators, InvalidStreamName, StreamNameTooLong);

    public static ApiError? CheckConsumer(string? name) => Check(name, ConsumerPathSeparators, InvalidConsumerName, ConsumerNameTooLong);

    public static bool HasPathSeparators(string name) => name.AsSpan().IndexOfAny('/', '\\') >= 0;

    private static ApiError? Check(string? name, ApiError separators, ApiError invalid, ApiError tooLong)
    {
        if (string.IsNullOrEmpty(name))
            return invalid;
        // nats-server's order for a name in a config: '.', '*', '>' and whitespace first, so "../x" is an invalid name.
        foreach (var c in name)
        {
            if (c is '.' or '*' or '>' || char.IsControl(c) || char.IsWhiteSpace(c))
                return invalid;
        }
        if (HasPathSeparators(name))
            return separators;
        return Encoding.UTF8.GetByteCount(name) > MaxBytes ? tooLong : null;
    }
}
