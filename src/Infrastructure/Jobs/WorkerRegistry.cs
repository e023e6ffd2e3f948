using Hangfire;
using Hangfire.Storage;
using Hangfire.Storage.Monitoring;
using Infrastructure.Options;

namespace Infrastructure.Jobs;

/// <summary>What a training worker says about itself: where it runs and with which torch build.</summary>
/// <param name="Host">The machine (container) name.</param>
/// <param name="Devices">The torch devices it trains on: <c>cpu</c> or <c>cuda:N</c>.</param>
/// <param name="TorchSharpVersion">Version of the TorchSharp assembly.</param>
/// <param name="LibTorchVersion">libtorch version TorchSharp reports (<c>torch.__version__</c>, a package constant).</param>
public sealed record WorkerDescription(string Host, IReadOnlyList<string> Devices, string TorchSharpVersion, string LibTorchVersion);

/// <summary>A job a worker is processing; <see cref="JobId"/> is the service's job id (null when the Hangfire job is unreadable).</summary>
public sealed record WorkerJob(Guid? JobId, DateTime? StartedAt);

/// <summary>
/// One live worker as the job storage sees it: its Hangfire server (slots = worker threads, queues, heartbeat)
/// joined with its <see cref="WorkerDescription"/> (null when the worker wrote none, e.g. an older build) and
/// the jobs Hangfire shows it processing. Job ids here belong to any tenant: callers filter them.
/// </summary>
public sealed record WorkerSnapshot(
    string ServerId, WorkerDescription? Description, int Slots, IReadOnlyList<string> Queues, DateTime StartedAt,
    DateTime? LastHeartbeat, IReadOnlyList<WorkerJob> CurrentJobs);

/// <summary>
/// The worker registry, kept in Hangfire's own storage so it needs no table of ours: liveness, slots and
/// heartbeats are Hangfire's server list; current jobs are its processing jobs; each worker adds a small hash
/// <c>tas:worker:{host}:{pid}</c> with its devices and torch versions (<see cref="Announce"/>), which expires
/// unless the worker renews it. Hangfire names a server <c>{ServerName}:…</c> (lower-cased), so the hash of a
/// server is found from the first two segments of its id.
/// </summary>
public static class WorkerRegistry
{
    /// <summary>How long an announcement lives without renewal (a crashed worker's hash goes away).</summary>
    public static readonly TimeSpan AnnouncementLifetime = TimeSpan.FromHours(1);

    /// <summary>How often a worker renews its announcement.</summary>
    public static readonly TimeSpan RenewEvery = TimeSpan.FromMinutes(10);

    /// <summary>The name this process gives its Hangfire server (Hangfire appends a unique suffix).</summary>
    public static readonly string ServerName = $"{Environment.MachineName}:{Environment.ProcessId}";

    private const string KeyPrefix = "tas:worker:";
    private const int MaxProcessingJobs = 1000;

    /// <summary>The hash key of this process's announcement.</summary>
    private static string OwnKey => KeyPrefix + ServerName.ToLowerInvariant();

    /// <summary>The hash key for a Hangfire server id, or null when the id does not have our <c>host:pid:…</c> shape.</summary>
    public static string? KeyOf(string serverId)
    {
        string[] parts = serverId.Split(':');
        return parts.Length >= 3 ? KeyPrefix + string.Join(':', parts[0], parts[1]).ToLowerInvariant() : null;
    }

    /// <summary>Writes (or renews) this process's announcement.</summary>
    public static void Announce(JobStorage storage, WorkerDescription description)
    {
        using IStorageConnection connection = storage.GetConnection();
        using IWriteOnlyTransaction transaction = connection.CreateWriteTransaction();
        transaction.SetRangeInHash(OwnKey,
        [
            new("host", description.Host),
            new("devices", string.Join(',', description.Devices)),
            new("torchsharp", description.TorchSharpVersion),
            new("libtorch", description.LibTorchVersion),
        ]);
        if (transaction is JobStorageTransaction expiring)
        {
            expiring.ExpireHash(OwnKey, AnnouncementLifetime);
        }
        transaction.Commit();
    }

    /// <summary>Removes this process's announcement (graceful shutdown).</summary>
    public static void Withdraw(JobStorage storage)
    {
        using IStorageConnection connection = storage.GetConnection();
        using IWriteOnlyTransaction transaction = connection.CreateWriteTransaction();
        transaction.RemoveHash(OwnKey);
        transaction.Commit();
    }

    /// <summary>Every Hangfire server listening on the training queue, oldest first, with its announcement and processing jobs.</summary>
    public static IReadOnlyList<WorkerSnapshot> Read(JobStorage storage)
    {
        IMonitoringApi monitoring = storage.GetMonitoringApi();
        List<ServerDto> servers = monitoring.Servers()
            .Where(s => s.Queues?.Contains(Queues.Training, StringComparer.OrdinalIgnoreCase) == true)
            .OrderBy(s => s.StartedAt).ThenBy(s => s.Name, StringComparer.Ordinal)
            .ToList();
        if (servers.Count == 0)
        {
            return [];
        }
        int processing = (int)Math.Min(monitoring.ProcessingCount(), MaxProcessingJobs);
        ILookup<string, WorkerJob> jobs = (processing == 0 ? [] : monitoring.ProcessingJobs(0, processing).ToList())
            .Where(p => p.Value?.ServerId is not null)
            .ToLookup(p => p.Value.ServerId, p => new WorkerJob(
                p.Value.Job?.Args is [Guid jobId, ..] ? jobId : null,
                p.Value.StartedAt is DateTime started ? DateTime.SpecifyKind(started, DateTimeKind.Utc) : null), StringComparer.OrdinalIgnoreCase);

        using IStorageConnection connection = storage.GetConnection();
        return servers.Select(s => new WorkerSnapshot(
            s.Name,
            Describe(connection, s.Name),
            s.WorkersCount,
            s.Queues?.ToList() ?? [],
            DateTime.SpecifyKind(s.StartedAt, DateTimeKind.Utc),
            s.Heartbeat is DateTime beat ? DateTime.SpecifyKind(beat, DateTimeKind.Utc) : null,
            jobs[s.Name].OrderBy(j => j.StartedAt).ToList())).ToList();
    }

    private static WorkerDescription? Describe(IStorageConnection connection, string serverId)
    {
        if (KeyOf(serverId) is not string key || connection.GetAllEntriesFromHash(key) is not { Count: > 0 } hash)
        {
            return null;
        }
        return new WorkerDescription(
            hash.GetValueOrDefault("host") ?? serverId.Split(':')[0],
            (hash.GetValueOrDefault("devices") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries),
            hash.GetValueOrDefault("torchsharp") ?? "",
            hash.GetValueOrDefault("libtorch") ?? "");
    }

    /// <summary>The host part of a server id, for servers without an announcement.</summary>
    public static string HostOf(string serverId) => serverId.Split(':')[0];
}
