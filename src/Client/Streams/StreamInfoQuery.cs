namespace Platform.Grains.Streams;

/// <summary>
/// A stream's info as one stream: the root partition's, combined with every other partition's (counts summed), for
/// the JetStream API and <see cref="Client.PlatformStreams"/> alike.
/// </summary>
internal static class StreamInfoQuery
{
    public static async Task<StreamResult<PlatformStreamInfo>> GetAsync(IGrainFactory grains, string stream, bool deletedDetails, string? subjectsFilter)
    {
        var root = await grains.GetGrain<IStreamGrain>(stream).GetInfo(deletedDetails, subjectsFilter);
        int partitions = root.Value is { } info ? StreamKeys.Count(info.Config) : 1;
        if (partitions <= 1)
            return root;
        var all = new List<PlatformStreamInfo>(partitions) { root.Value! };
        for (int p = 1; p < partitions; p++)
            if ((await grains.GetGrain<IStreamGrain>(StreamKeys.Partition(stream, p)).GetInfo(deletedDetails, subjectsFilter)).Value is { } part)
                all.Add(part);
        return StreamResult<PlatformStreamInfo>.Ok(PlatformStreamInfo.Combine(all));
    }
}
