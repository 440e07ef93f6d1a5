using System.Security.Cryptography;
using System.Text.Json;
using Platform.Grains.Storage;

namespace Platform.Grains.Node;

/// <summary>
/// Opens a store directory for one process: takes its lock, then reads (or, for a new or wiped store, creates) the
/// node identity file. Disposing releases the lock; a killed process releases it with its descriptors.
/// </summary>
public sealed class NodeStore : IDisposable
{
    /// <summary>Held open with <see cref="FileShare.None"/>: .NET takes an exclusive flock on it, so a second process
    /// (or a second open in this one) on the same directory fails instead of sharing the logs.</summary>
    public const string LockFileName = "LOCK";
    public const string IdentityFileName = "node.json";

    private readonly FileStream _lock;

    private NodeStore(FileStream lockFile, NodeIdentity identity, bool created)
    {
        _lock = lockFile;
        Identity = identity;
        Created = created;
    }

    public NodeIdentity Identity { get; }

    /// <summary>True when this open created the identity: a new store, or one whose identity file was gone.</summary>
    public bool Created { get; }

    /// <summary>
    /// Locks <paramref name="directory"/> (created if missing) and loads its identity. In a cluster the store belongs to
    /// one node name: opening it under another name is refused, because that node's data would be served as this one's.
    /// </summary>
    /// <exception cref="NodeStoreException">The store is in use by another process, or belongs to another node.</exception>
    public static NodeStore Open(string directory, string name, string? clusterName)
    {
        var full = Path.GetFullPath(directory);
        Directory.CreateDirectory(full);
        var lockPath = Path.Combine(full, LockFileName);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new NodeStoreException($"store directory {full} is in use by another process (lock {lockPath}: {ex.Message})");
        }
        try
        {
            WriteOwner(lockFile);
            var (identity, created) = LoadOrCreate(full, name, clusterName);
            return new NodeStore(lockFile, identity, created);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>The pid in the lock file only helps an operator find the holder; the lock itself is the flock.</summary>
    private static void WriteOwner(FileStream lockFile)
    {
        lockFile.SetLength(0);
        var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId + "\n");
        lockFile.Write(pid);
        lockFile.Flush();
    }

    private static (NodeIdentity Identity, bool Created) LoadOrCreate(string directory, string name, string? clusterName)
    {
        var path = Path.Combine(directory, IdentityFileName);
        if (File.Exists(path))
        {
            var stored = Read(path);
            if (clusterName is not null && stored.Name.Length > 0 && stored.Name != name)
                throw new NodeStoreException($"store directory {directory} belongs to node \"{stored.Name}\", not \"{name}\" (see {path})");
            if (stored.Name == name || name.Length == 0)
                return (new NodeIdentity(stored.Name, stored.DataId, directory, clusterName), false);
            // A store first used without a name (a single silo) takes the name it is now given.
            Write(path, new StoredIdentity(name, stored.DataId, stored.Created));
            return (new NodeIdentity(name, stored.DataId, directory, clusterName), false);
        }
        var fresh = new StoredIdentity(name, NewDataId(), DateTime.UtcNow);
        Write(path, fresh);
        return (new NodeIdentity(name, fresh.DataId, directory, clusterName), true);
    }

    private static StoredIdentity Read(string path)
    {
        try
        {
            var stored = JsonSerializer.Deserialize<StoredIdentity>(File.ReadAllBytes(path));
            if (stored is null || string.IsNullOrEmpty(stored.DataId))
                throw new NodeStoreException($"node identity file {path} has no data_id");
            return stored with { Name = stored.Name ?? "" };
        }
        catch (JsonException ex)
        {
            throw new NodeStoreException($"node identity file {path} is not valid: {ex.Message}");
        }
    }

    private static void Write(string path, StoredIdentity identity)
        => AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, identity));

    /// <summary>128 random bits as 32 hex digits.</summary>
    private static string NewDataId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public void Dispose() => _lock.Dispose();

    private sealed record StoredIdentity(
        [property: System.Text.Json.Serialization.JsonPropertyName("name")] string Name,
        [property: System.Text.Json.Serialization.JsonPropertyName("data_id")] string DataId,
        [property: System.Text.Json.Serialization.JsonPropertyName("created")] DateTime Created);
}
