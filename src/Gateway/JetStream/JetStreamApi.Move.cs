using System.Text.Json.Serialization;
using Platform.Grains.Streams;

namespace Platform.Gateway.JetStream;

/// <summary>
/// nats-server's stream move: <c>$JS.API.ACCOUNT.STREAM.MOVE.&lt;account&gt;.&lt;stream&gt;</c> with
/// <c>{"server": ...}</c> moves the stream off that server (its home) to the node placement picks, data and
/// consumers included; without a server, every partition moves. nats-server takes these on its system account; the
/// silo has one account, <c>$G</c>, and takes them there. A silo outside a cluster does not answer them, as
/// nats-server without a cluster does not.
/// </summary>
internal sealed partial class JetStreamApi
{
    private const string StreamMoveResponse = "stream_update_response";
    private const string Account = "$G";
    private static readonly ApiError NoAccount = new(503, 10035, "account not found");
    private static readonly ApiError ServerNotMember = new(400, 10044, "server is not a member of the cluster");
    private static readonly ApiError NoPeers = new(400, 10005, "no suitable peers for placement");
    private static readonly ApiError MoveNotInProgress = new(400, 10129, "stream move not in progress");

    private async Task Move(ApiRequest request, string account, string name)
    {
        // A system request: not counted in the account's API statistics.
        responder.UncountRequest();
        if (!node.IsCluster)
            return;
        if (!ApiResponder.TryParse(request.Body, ApiJsonContext.Default.StreamMoveBody, out var body) || body is null)
        {
            responder.ReplyError(request, StreamMoveResponse, ApiError.InvalidJson);
            return;
        }
        if (account != Account)
        {
            responder.ReplyError(request, StreamMoveResponse, NoAccount);
            return;
        }
        var server = string.IsNullOrEmpty(body.Server) ? null : body.Server;
        // The one cluster and no domain: a server named in another is no member of this one.
        if (server is not null && (!string.IsNullOrEmpty(body.Cluster) && body.Cluster != node.ClusterName || !string.IsNullOrEmpty(body.Domain)))
        {
            responder.ReplyError(request, StreamMoveResponse, (await Catalog.Get(name)) is null ? ApiError.StreamNotFound : ServerNotMember);
            return;
        }
        // Nodes carry no placement tags, so none matches a tag asked for.
        if (body.Tags is { Length: > 0 })
        {
            responder.ReplyError(request, StreamMoveResponse, (await Catalog.Get(name)) is null ? ApiError.StreamNotFound : NoPeers);
            return;
        }
        var moved = await Catalog.Move(name, server, null);
        if (moved.Error is { } error)
        {
            responder.ReplyError(request, StreamMoveResponse, error);
            return;
        }
        var info = await GetInfoAsync(name);
        if (info.Error is { } infoError)
            responder.ReplyError(request, StreamMoveResponse, infoError);
        else
            responder.Reply(request, StreamMoveResponse, w => WriteStreamInfo(w, info.Value!));
    }

    /// <summary>A move is done (or undone) before the catalog takes the next request, so none is ever in progress.</summary>
    private async Task CancelMove(ApiRequest request, string account, string name)
    {
        responder.UncountRequest();
        if (!node.IsCluster)
            return;
        if (account != Account)
            responder.ReplyError(request, StreamMoveResponse, NoAccount);
        else
            responder.ReplyError(request, StreamMoveResponse, (await Catalog.Get(name)) is null ? ApiError.StreamNotFound : MoveNotInProgress);
    }
}

/// <summary>nats-server's JSApiMetaServerStreamMoveRequest: the server to move the stream off, and where to look for it.</summary>
internal sealed class StreamMoveBody
{
    [JsonPropertyName("server")] public string? Server { get; set; }
    [JsonPropertyName("cluster")] public string? Cluster { get; set; }
    [JsonPropertyName("domain")] public string? Domain { get; set; }
    [JsonPropertyName("tags")] public string[]? Tags { get; set; }
}
