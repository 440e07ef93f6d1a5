using System.Text;
using CsCheck;

namespace Platform.Fuzz;

/// <summary>
/// JSON API request bodies for fuzzing: JSON built from the field names and value kinds the API reads (so the values
/// reach the validation code rather than stopping at the parser), corpus bodies mutated, and raw garbage.
/// </summary>
internal static class JsonGen
{
    private static readonly string[] Keys =
    [
        "name", "subjects", "retention", "max_consumers", "max_msgs", "max_bytes", "max_age", "max_msgs_per_subject",
        "max_msg_size", "discard", "discard_new_per_subject", "storage", "num_replicas", "duplicate_window", "sealed",
        "deny_delete", "deny_purge", "allow_rollup_hdrs", "allow_direct", "first_seq", "partitions", "partition",
        "stream_name", "config", "durable_name", "deliver_subject", "deliver_group", "ack_policy", "deliver_policy",
        "opt_start_seq", "opt_start_time", "filter_subject", "filter_subjects", "max_deliver", "backoff", "ack_wait",
        "max_ack_pending", "max_waiting", "flow_control", "idle_heartbeat", "headers_only", "inactive_threshold",
        "replay_policy", "seq", "last_by_subj", "next_by_subj", "batch", "expires", "no_wait", "keep", "filter",
        "offset", "subject", "deleted_details", "subjects_filter", "action",
    ];

    private static readonly Gen<string> Text = Gen.Frequency(
        (6, Gen.OneOf("FZ1", "FZ2", "fz1.>", "fz1.a", "*", ">", "", "all", "last", "new", "explicit", "none", "file",
            "memory", "old", "interest", "workqueue", "limits", "create", "日本.>", "секрет", "$JS.API.>", "a..b", " ")),
        (2, Gen.Char["abcFZ.*>_$ 日\\\"\u0000"].Array[0, 12].Select(chars => new string(chars))),
        (1, Gen.Int[0, 5000].Select(n => new string('x', n))));

    private static readonly Gen<string> Number = Gen.OneOf(
        Gen.Long.Select(n => n.ToString()), Gen.Int[-2, 1000].Select(n => n.ToString()),
        Gen.OneOf("1e400", "-0", "0.5", "9223372036854775808", "-9223372036854775809", "1E2", "18446744073709551615"));

    private static Gen<string> Value(int depth) => depth <= 0
        ? Gen.Frequency((3, Number), (3, Text.Select(Quote)), (1, Gen.OneOf("true", "false", "null")))
        : Gen.Frequency(
            (3, Number), (3, Text.Select(Quote)), (1, Gen.OneOf("true", "false", "null")),
            (2, Object(depth - 1)),
            (2, Value(depth - 1).Array[0, 4].Select(items => "[" + string.Join(",", items) + "]")));

    private static Gen<string> Object(int depth) => Gen.Select(Gen.OneOf(Keys).Array[0, 8], Value(depth).Array[8],
        (keys, values) => "{" + string.Join(",", keys.Select((k, i) => Quote(k) + ":" + values[i])) + "}");

    public static readonly Gen<byte[]> Body = Gen.Frequency(
        (5, Object(3).Select(Encoding.UTF8.GetBytes)),
        (4, Mutation.Of(Gen.OneOf(FuzzCorpus.JsonApi))),
        (1, Gen.Byte.Array[0, 40]));

    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);
}
