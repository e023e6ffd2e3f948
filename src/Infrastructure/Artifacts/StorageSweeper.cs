using System.Diagnostics;
using Infrastructure.Data;
using Infrastructure.Observability;
using Infrastructure.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Infrastructure.Artifacts;

/// <summary>What one sweep deleted.</summary>
public sealed record SweepResult(int StagedFiles, long StagedBytes, int OrphanFiles, long OrphanBytes);

/// <summary>
/// Every <see cref="StorageOptions.SweepInterval"/>, deletes what a crash or a failed write left in the artifact store:
/// staged files not written for <see cref="StorageOptions.StagingMaxAge"/>, and files older than
/// <see cref="StorageOptions.OrphanGracePeriod"/> that no <see cref="Artifact"/> row names. Orphans are only looked for
/// where the schema proves ownership: <c>datasets/{id}/</c> (every file has an artifact row, and a folder that a
/// <see cref="Dataset"/> row names is left whole) and <c>runs/{id}/</c> (checkpoints, models and variants are read only
/// through their rows). Any other folder is left alone. Safe to run on several workers at once: a file another sweeper
/// deleted first is skipped.
/// </summary>
public sealed partial class StorageSweeper(
    IServiceScopeFactory scopes, IArtifactStore store, IOptions<StorageOptions> options, TimeProvider clock, ILogger<StorageSweeper> logger)
    : BackgroundService
{
    /// <summary>Top-level folders whose files are owned by rows (see the class remarks).</summary>
    private static readonly string[] s_ownedFolders = ["datasets", "runs"];

    private const int QueryBatch = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        TimeSpan interval = options.Value.SweepInterval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }
        // The first sweep right away: a restart after a crash is when leftovers are most likely.
        do
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSweepFailed(ex, StorageOptions.SectionName);
            }
        }
        while (await WaitAsync(interval, stoppingToken));
    }

    private async Task<bool> WaitAsync(TimeSpan interval, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(interval, clock, stoppingToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>One sweep: abandoned staged files, then orphaned artifact files.</summary>
    public async Task<SweepResult> SweepAsync(CancellationToken cancellationToken)
    {
        StorageOptions settings = options.Value;
        DateTime now = clock.GetUtcNow().UtcDateTime;

        (int stagedFiles, long stagedBytes) = (0, 0);
        string staging = Path.Combine(store.Root, FileArtifactStore.StagingFolder);
        foreach (FileInfo file in Enumerate(staging, recursive: false))
        {
            if (now - file.LastWriteTimeUtc > settings.StagingMaxAge && TryDeleteUnused(file, "staged") is long bytes)
            {
                (stagedFiles, stagedBytes) = (stagedFiles + 1, stagedBytes + bytes);
            }
        }

        (int orphanFiles, long orphanBytes) = (0, 0);
        List<(FileInfo File, string Path)> old = s_ownedFolders
            .SelectMany(folder => Enumerate(Path.Combine(store.Root, folder), recursive: true))
            .Where(f => now - f.LastWriteTimeUtc > settings.OrphanGracePeriod)
            .Select(f => (f, Path.GetRelativePath(store.Root, f.FullName).Replace('\\', '/')))
            .ToList();
        foreach ((FileInfo File, string Path)[] batch in old.Chunk(QueryBatch))
        {
            HashSet<string> owned = await OwnedAsync(batch.Select(b => b.Path).ToList(), cancellationToken);
            foreach ((FileInfo file, string path) in batch)
            {
                if (!owned.Contains(path) && !owned.Contains(DatasetFolder(path) ?? "") && TryDeleteUnused(file, "orphan") is long bytes)
                {
                    (orphanFiles, orphanBytes) = (orphanFiles + 1, orphanBytes + bytes);
                }
            }
        }

        if (stagedFiles > 0)
        {
            LogSwept(stagedFiles, "staged", stagedBytes, settings.StagingMaxAge, $"{StorageOptions.SectionName}:{nameof(StorageOptions.StagingMaxAge)}");
        }
        if (orphanFiles > 0)
        {
            LogSwept(orphanFiles, "orphan", orphanBytes, settings.OrphanGracePeriod, $"{StorageOptions.SectionName}:{nameof(StorageOptions.OrphanGracePeriod)}");
        }
        return new SweepResult(stagedFiles, stagedBytes, orphanFiles, orphanBytes);
    }

    /// <summary>Of <paramref name="paths"/> and their dataset folders: those an artifact row or a dataset row names.</summary>
    private async Task<HashSet<string>> OwnedAsync(List<string> paths, CancellationToken cancellationToken)
    {
        List<string> folders = paths.Select(DatasetFolder).OfType<string>().Distinct().ToList();
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        AppDbContext db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        var owned = new HashSet<string>(await db.Artifacts.AsNoTracking()
            .Where(a => paths.Contains(a.Path)).Select(a => a.Path).ToListAsync(cancellationToken), StringComparer.Ordinal);
        owned.UnionWith(await db.Datasets.IgnoreQueryFilters().AsNoTracking()
            .Where(d => folders.Contains(d.ArtifactPath)).Select(d => d.ArtifactPath).ToListAsync(cancellationToken));
        return owned;
    }

    /// <summary><c>datasets/{id}</c> for a path inside a dataset folder, else null.</summary>
    private static string? DatasetFolder(string path) =>
        path.StartsWith("datasets/", StringComparison.Ordinal) && path.IndexOf('/', "datasets/".Length) is > 0 and int end ? path[..end] : null;

    private static IEnumerable<FileInfo> Enumerate(string folder, bool recursive)
    {
        var directory = new DirectoryInfo(folder);
        return directory.Exists
            ? directory.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = recursive, IgnoreInaccessible = true, AttributesToSkip = 0 })
            : [];
    }

    /// <summary>
    /// Deletes the file unless a writer still has it open (locks are advisory and absent on some network file systems;
    /// the age rule is the main guard). Returns its size, or null when it was in use or already gone.
    /// </summary>
    private long? TryDeleteUnused(FileInfo file, string kind)
    {
        try
        {
            long size;
            using (var exclusive = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.None))
            {
                // Another sweeper may have opened the same file, deleted it and released its lock while this one waited to
                // open it: the lock is then on an unlinked file. Only the sweeper whose path still exists deletes and counts.
                if (!File.Exists(file.FullName))
                {
                    return null;
                }
                size = exclusive.Length;
                File.Delete(file.FullName);
            }
            LogDeleted(kind, Path.GetRelativePath(store.Root, file.FullName), size, file.LastWriteTimeUtc);
            var tags = new TagList { { ServiceTelemetry.SweepKindAttribute, kind } };
            ServiceTelemetry.SweptFiles.Add(1, tags);
            ServiceTelemetry.SweptBytes.Add(size, tags);
            return size;
        }
        catch (FileNotFoundException)
        {
            return null; // another sweeper, or the owner, was first
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (IOException ex)
        {
            LogInUse(ex, Path.GetRelativePath(store.Root, file.FullName));
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage sweep deleted {Kind} file {Path} ({Bytes} bytes, last written {LastWrite:O}).")]
    private partial void LogDeleted(string kind, string path, long bytes, DateTime lastWrite);

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage sweep deleted {Count} {Kind} files, {Bytes} bytes in all (older than {Age}, setting {Setting}).")]
    private partial void LogSwept(int count, string kind, long bytes, TimeSpan age, string setting);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Storage sweep skipped {Path}: it is in use.")]
    private partial void LogInUse(Exception exception, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage sweep failed; it runs again after {Section}:SweepInterval.")]
    private partial void LogSweepFailed(Exception exception, string section);
}
