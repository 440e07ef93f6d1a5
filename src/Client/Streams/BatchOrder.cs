namespace Platform.Grains.Streams;

/// <summary>
/// Where a batch stands among the batches one publisher keeps on the way to one stream grain, so the grain stores
/// them in the order they were published: Orleans does not keep calls in order (between two silos it sends each over
/// either of their connections). <see cref="None"/> for a caller that waits for each batch before sending the next.
/// </summary>
/// <param name="Publisher">Who sends them (a gateway connection): random, so unique in practice across the cluster.</param>
/// <param name="Number">This batch's place: 1, 2, 3… to this stream grain.</param>
/// <param name="Floor">The oldest of this publisher's batches to the grain still unanswered when this one was sent
/// (this one's own number when none is): the grain never waits for one below it.</param>
[GenerateSerializer, Immutable, Alias("platform.BatchOrder")]
public readonly record struct BatchOrder([property: Id(0)] long Publisher, [property: Id(1)] ulong Number, [property: Id(2)] ulong Floor)
{
    public static BatchOrder None => default;

    public bool IsNone => Publisher == 0;
}
