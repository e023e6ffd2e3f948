using System.Diagnostics;
using Domain.Common;
using Infrastructure.Artifacts;
using Infrastructure.Data;
using Infrastructure.Jobs;
using Infrastructure.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Training.Engine;
using Worker.Datasets;
using Worker.Telemetry;

namespace Worker.Jobs;

/// <summary>
/// Trains one job: takes its lease (one owner per job; see <see cref="JobLeases"/>), loads its dataset, resumes from
/// the newest intact checkpoint, records metrics and a checkpoint after every epoch, and stores the rank curve and
/// the model at the end. Every write is fenced by the lease's token; a worker whose write is refused stops at once.
/// Safe to run twice (Hangfire delivers at least once): a finished job is left alone, a job under another live lease
/// is left to its owner, and a retried one continues where it stopped.
/// </summary>
public sealed class TrainingJob(
    AppDbContext db,
    IArtifactStore store,
    DatasetLoader loader,
    TrainingEngine engine,
    VariantBuilder variants,
    IServiceScopeFactory scopes,
    IHostApplicationLifetime lifetime,
    TimeProvider clock,
    IOptions<WorkerOptions> workerOptions,
    ILogger<TrainingJob> logger) : ITrainingJob
{
    /// <summary>Attempts (lease acquisitions) before a job that keeps failing is failed for good.</summary>
    public const int MaxAttempts = ITrainingJob.Retries + 1;

    private WorkerOptions Options => workerOptions.Value;

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    public void Run(Guid jobId, CancellationToken cancellationToken)
    {
        // Every line this job writes carries JobId (TraceId and SpanId come from the job's span, see JobTracingFilter).
        using IDisposable? jobScope = logger.BeginScope(new Dictionary<string, object> { ["JobId"] = jobId });
        JobLease? lease = Acquire(jobId, cancellationToken);
        if (lease is null)
        {
            return;
        }
        Job job = db.Jobs.AsNoTracking().Single(j => j.Id == jobId);
        var writer = new JobWriter(db, lease, Options, clock, logger);
        Activity.Current?.SetTag(ServiceTelemetry.AttemptAttribute, job.Attempts);
        if (job.Attempts > MaxAttempts)
        {
            TryFinish(writer, null, JobStatus.Failed, RunStatus.Failed, $"gave up after {MaxAttempts} attempts; last error: {job.Error ?? "none recorded"}");
            return;
        }

        Guid runId = Guid.Empty;
        writer.Write(d =>
        {
            Run run = d.Runs.SingleOrDefault(r => r.JobId == jobId && r.Index == 0)
                ?? d.Runs.Add(new Run { Id = Guid.CreateVersion7(), TenantId = job.TenantId, JobId = jobId, Index = 0, StartedAt = Now }).Entity;
            run.Status = RunStatus.Running;
            run.Device = engine.DeviceName;
            runId = run.Id;
        });
        using IDisposable? runScope = logger.BeginScope(new Dictionary<string, object> { ["RunId"] = runId, ["Attempt"] = job.Attempts });
        Activity.Current?.SetTag(ServiceTelemetry.RunIdAttribute, runId.ToString());

        // Hard stop: a cancel request, a lost lease, or a shutdown that cannot wait for the epoch to end.
        using var hardStop = new CancellationTokenSource();
        var stop = new StopReasons { LastRenewal = Now };
        using Timer poll = new(_ => Poll(lease, hardStop, stop), null, Options.CancelPollInterval, Options.CancelPollInterval);
        // Shutdown: finish and record the epoch in flight, then hand the job back (see Recorder).
        using CancellationTokenRegistration stopping = lifetime.ApplicationStopping.Register(() =>
        {
            stop.Shutdown = true;
            hardStop.CancelAfter(Options.ShutdownTimeout * 0.75);
        });
        // Hangfire's token also fires when its entry changes state elsewhere (deleted by a cancel, or finished by a
        // duplicate delivery on another worker). That stops nothing: a cancel arrives through the poll, and the lease,
        // not Hangfire's bookkeeping, says who owns the job.
        using CancellationTokenRegistration entryChanged = cancellationToken.Register(() =>
        {
            if (!lifetime.ApplicationStopping.IsCancellationRequested)
            {
                logger.LogInformation("Job {JobId}: its queue entry changed state elsewhere; the lease still holds, training goes on.", jobId);
            }
        });
        try
        {
            JobSpec spec = JobSpec.Parse(job.SpecJson);
            // The plan owns the total; a job queued before the Api counted every stage is corrected here.
            int totalEpochs = StagePlan.From(spec).TotalEpochs;
            if (job.Epochs != totalEpochs)
            {
                writer.Write(d => JobLeases.Held(d, lease).ExecuteUpdate(s => s.SetProperty(j => j.Epochs, totalEpochs)));
                job.Epochs = totalEpochs;
            }
            Dataset dataset = db.Datasets.AsNoTracking().SingleOrDefault(d => d.Id == job.DatasetId)
                ?? throw new DomainValidationException("datasetId", $"dataset '{job.DatasetId}' no longer exists.");
            (LabeledData train, LabeledData test) = loader.Load(dataset);
            if (!db.Artifacts.Any(a => a.RunId == runId && a.Kind == ArtifactKinds.Model))
            {
                Train(writer, job, runId, spec, train, test, stop, hardStop.Token);
            }
            else
            {
                logger.LogInformation("Job {JobId}: run {RunId} is already trained; building its variants.", job.Id, runId);
            }
            // Its export, verification and latency spans are children of this job's span. A database outage while the
            // variants are built is ridden out as one during training is: the build starts over from a clean context,
            // reusing the exports it has committed (a failed step's files are rewritten at the same token-named paths).
            DatabaseErrors.Retry(
                () =>
                {
                    db.ChangeTracker.Clear();
                    Run trained = db.Runs.AsNoTracking().Single(r => r.Id == runId);
                    variants.Build(job, trained, test, writer.SaveChanges, $"t{lease.Token}", hardStop.Token);
                    return true;
                },
                Options.DatabaseOutageTimeout,
                (ex, delay) => logger.LogWarning("Job {JobId}: database unavailable while building variants ({Error}); retrying in {Delay}s.",
                    job.Id, ex.Message, delay.TotalSeconds),
                hardStop.Token);
            Finish(writer, runId, JobStatus.Succeeded, RunStatus.Succeeded, null);
            logger.LogInformation("Job {JobId} succeeded.", job.Id);
        }
        catch (Exception ex) when (ex is LeaseLostException || (ex is OperationCanceledException && stop.LeaseLost))
        {
            // Another worker (or recovery) owns the job now: touch nothing more.
            logger.LogWarning("Job {JobId}: lease (token {Token}) lost; stopping without writing.", job.Id, lease.Token);
        }
        catch (OperationCanceledException) when (hardStop.IsCancellationRequested || stop.Shutdown)
        {
            if (stop.CancelRequested || IsCancelRequested(jobId))
            {
                TryFinish(writer, runId, JobStatus.Cancelled, RunStatus.Cancelled, null);
                logger.LogInformation("Job {JobId} cancelled.", job.Id);
                return;
            }
            // Shutting down: hand the job back (lease released); it resumes from its checkpoint on any worker.
            TryRelease(writer, "handed back at worker shutdown; resumes from its last checkpoint");
            logger.LogInformation("Job {JobId}: worker shutting down; handed back to the queue.", job.Id);
            throw;
        }
        catch (Exception ex) when (ex is DomainValidationException or InvalidDataException)
        {
            // The input cannot train; retrying would fail the same way.
            TryFinish(writer, runId, JobStatus.Failed, RunStatus.Failed, ex.Message);
            logger.LogWarning(ex, "Job {JobId} failed on its input.", job.Id);
        }
        catch (Exception ex) when (DatabaseErrors.IsTransient(ex))
        {
            // The database stayed away longer than Worker:DatabaseOutageTimeout. Nothing can be written; the lease
            // lapses and recovery re-queues the job, which resumes from its last checkpoint on disk.
            logger.LogError(ex, "Job {JobId}: database unavailable for longer than Worker:DatabaseOutageTimeout ({Timeout}); leaving the job to recovery.",
                job.Id, Options.DatabaseOutageTimeout);
            throw;
        }
        catch (Exception ex)
        {
            bool lastAttempt = job.Attempts >= MaxAttempts;
            string reason = StorageErrors.IsDiskFull(ex)
                ? $"the artifact store (Storage:ArtifactRoot) is full: {ex.GetBaseException().Message}"
                : $"{ex.GetType().Name}: {ex.Message}";
            logger.LogError(ex, "Job {JobId} attempt {Attempt} failed{Retry}.", job.Id, job.Attempts, lastAttempt ? "" : "; it will be retried");
            if (lastAttempt)
            {
                TryFinish(writer, runId, JobStatus.Failed, RunStatus.Failed, reason);
                return;
            }
            TryRelease(writer, $"attempt {job.Attempts} failed ({reason}); retrying");
            throw;
        }
    }

    /// <summary>
    /// Takes the job's lease. When another worker holds a live one (Hangfire re-delivered the job, e.g. after its
    /// invisibility timeout), waits until that lease lapses and takes it, or returns null if its owner renews it.
    /// </summary>
    private JobLease? Acquire(Guid jobId, CancellationToken cancellationToken)
    {
        string owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
        DateTime? seenExpiry = null;
        while (true)
        {
            Job? job = db.Jobs.AsNoTracking().SingleOrDefault(j => j.Id == jobId);
            if (job is null)
            {
                logger.LogWarning("Job {JobId} no longer exists; nothing to do.", jobId);
                return null;
            }
            if (job.IsFinished)
            {
                logger.LogInformation("Job {JobId} is already {Status}; nothing to do.", jobId, job.Status);
                return null;
            }
            if (job.CancelRequested && job.Status == JobStatus.Queued)
            {
                JobLeases.CompleteQueuedCancel(db, jobId, Now);
                logger.LogInformation("Job {JobId} cancelled before it started.", jobId);
                return null;
            }
            if (JobLeases.TryAcquire(db, jobId, owner, Now, Options.LeaseDuration) is { } lease)
            {
                logger.LogInformation("Job {JobId}: lease taken by {Owner} (token {Token}).", jobId, owner, lease.Token);
                return lease;
            }
            if (job.Status != JobStatus.Running || job.LeaseExpiresAt is not DateTime expiry)
            {
                // Raced with another acquisition or a state change: look again shortly.
                cancellationToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(200));
                cancellationToken.ThrowIfCancellationRequested();
                continue;
            }
            if (seenExpiry is not null && expiry != seenExpiry)
            {
                logger.LogInformation("Job {JobId} is held by live worker {Owner}; leaving it there.", jobId, job.LeaseOwner);
                return null;
            }
            seenExpiry = expiry;
            if (expiry - Now > Options.LeaseDuration * 2)
            {
                return null;
            }
            // Wait for the holder's lease to lapse (or be renewed, which proves it alive).
            cancellationToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(Math.Clamp((expiry - Now).TotalMilliseconds + 100, 100, 1000)));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private void Train(JobWriter writer, Job job, Guid runId, JobSpec spec, LabeledData train, LabeledData test, StopReasons stop, CancellationToken cancellationToken)
    {
        (Artifact? checkpoint, Stream? resume) = OpenNewestIntactCheckpoint(runId);
        logger.LogInformation("Job {JobId} attempt {Attempt}: training run {RunId} on {Device}{Resume}.",
            job.Id, job.Attempts, runId, engine.DeviceName, checkpoint is null ? "" : $", resuming after epoch {checkpoint.Epoch}");
        TrainingOutcome outcome;
        using (resume)
        {
            var recorder = new Recorder(this, writer, job, runId, stop);
            outcome = engine.Run(new TrainingRequest(spec, train, test), new InstrumentedObserver(recorder, train.Count, engine.DeviceName), resume, cancellationToken);
        }
        StoreOutcome(writer, job, runId, outcome);
    }

    /// <summary>
    /// The newest checkpoint whose file exists and matches its stored sha256 (a torn or corrupt file falls back to
    /// the one before it; two are kept), opened for reading; none starts from scratch.
    /// </summary>
    private (Artifact?, Stream?) OpenNewestIntactCheckpoint(Guid runId)
    {
        List<Artifact> checkpoints = db.Artifacts.AsNoTracking().Where(a => a.RunId == runId && a.Kind == ArtifactKinds.Checkpoint)
            .OrderByDescending(a => a.Epoch).ToList();
        foreach (Artifact checkpoint in checkpoints)
        {
            try
            {
                if (store.Exists(checkpoint.Path) && store.ComputeSha256(checkpoint.Path) == checkpoint.Sha256)
                {
                    return (checkpoint, store.OpenRead(checkpoint.Path));
                }
                logger.LogWarning("Job checkpoint {Path} (epoch {Epoch}) is missing or fails its sha256 check; trying an older one.", checkpoint.Path, checkpoint.Epoch);
            }
            catch (IOException ex)
            {
                logger.LogWarning(ex, "Job checkpoint {Path} (epoch {Epoch}) cannot be read; trying an older one.", checkpoint.Path, checkpoint.Epoch);
            }
        }
        if (checkpoints.Count > 0)
        {
            logger.LogWarning("No intact checkpoint among {Count}; training starts over.", checkpoints.Count);
        }
        return (null, null);
    }

    private void Poll(JobLease lease, CancellationTokenSource hardStop, StopReasons stop)
    {
        try
        {
            using IServiceScope scope = scopes.CreateScope();
            AppDbContext pollDb = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            var row = pollDb.Jobs.AsNoTracking().Where(j => j.Id == lease.JobId).Select(j => new { j.CancelRequested, j.LeaseToken, j.LeaseOwner }).FirstOrDefault();
            if (row is null || row.LeaseToken != lease.Token || row.LeaseOwner != lease.Owner)
            {
                stop.LeaseLost = true;
                hardStop.Cancel();
                return;
            }
            if (row.CancelRequested)
            {
                stop.CancelRequested = true;
                hardStop.Cancel();
                return;
            }
            // Renew well before expiry; a refused renewal is a lost lease.
            DateTime now = Now;
            if (now - stop.LastRenewal > Options.LeaseDuration / 3)
            {
                if (!JobLeases.Renew(pollDb, lease, now, Options.LeaseDuration))
                {
                    stop.LeaseLost = true;
                    hardStop.Cancel();
                    return;
                }
                stop.LastRenewal = now;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogDebug(ex, "Poll for job {JobId} failed; will try again.", lease.JobId);
        }
    }

    private bool IsCancelRequested(Guid jobId)
    {
        try
        {
            return db.Jobs.AsNoTracking().Where(j => j.Id == jobId).Select(j => j.CancelRequested).FirstOrDefault();
        }
        catch (Exception ex) when (DatabaseErrors.IsTransient(ex))
        {
            return false;
        }
    }

    /// <summary>
    /// Writes the checkpoint file (named after the lease's token, so a stale worker never overwrites the owner's),
    /// then the epoch's metric row, the checkpoint row and the job's epoch in one fenced transaction; keeps two.
    /// </summary>
    private void RecordEpoch(JobWriter writer, Job job, Guid runId, EpochReport report, Action<Stream> writeCheckpoint)
    {
        StoredFile file;
        using (StagedFile staged = store.Stage())
        {
            writeCheckpoint(staged.Stream);
            file = staged.Commit($"runs/{runId:N}/checkpoints/epoch-{report.Epoch:D4}-t{writer.Lease.Token}.ckpt");
        }
        List<Artifact> removed = [];
        try
        {
            writer.Write(d =>
            {
                // A metric beyond the checkpoint can only exist if a crash hit between commit and cleanup; replace it.
                d.EpochMetrics.RemoveRange(d.EpochMetrics.Where(m => m.RunId == runId && m.Epoch >= report.Epoch));
                d.EpochMetrics.Add(new EpochMetric
                {
                    Id = Guid.CreateVersion7(),
                    RunId = runId,
                    Epoch = report.Epoch,
                    Stage = report.Stage,
                    TrainLoss = report.TrainLoss,
                    TrainAccuracy = report.TrainAccuracy,
                    TestAccuracy = report.TestAccuracy,
                    LabelPrecision = report.LabelPrecision,
                    ValidationAccuracy = report.Extra.TryGetValue("validationAccuracy", out double validation) ? validation : null,
                    Seconds = report.Seconds,
                    CreatedAt = Now,
                });
                List<Artifact> older = d.Artifacts.Where(a => a.RunId == runId && a.Kind == ArtifactKinds.Checkpoint && a.Path != file.Path)
                    .OrderByDescending(a => a.Epoch).ToList();
                // Keep the newest older checkpoint too: the fallback when the new one turns out unreadable.
                removed = older.Where(a => a.Epoch >= report.Epoch).Concat(older.Where(a => a.Epoch < report.Epoch).Skip(1)).ToList();
                d.Artifacts.RemoveRange(removed);
                d.Artifacts.Add(file.ToArtifact(ArtifactKinds.Checkpoint, Now, job.Id, runId, epoch: report.Epoch));
                JobLeases.Held(d, writer.Lease).ExecuteUpdate(s => s.SetProperty(j => j.Epoch, report.Epoch));
            });
        }
        catch
        {
            // Not recorded (lease lost, database gone for too long): the file is this attempt's own.
            store.Delete(file.Path);
            throw;
        }
        foreach (Artifact old in removed)
        {
            store.Delete(old.Path);
        }
        job.Epoch = report.Epoch;
        if (report.Epochs != job.Epochs)
        {
            // The engine plans with StagePlan too; a difference is a bug there, the job keeps the plan's count.
            logger.LogWarning("Job {JobId}: the engine reports {EngineEpochs} epochs, the stage plan {PlanEpochs}.", job.Id, report.Epochs, job.Epochs);
        }
        logger.LogInformation("Job {JobId} epoch {Epoch}/{Epochs} [{Stage}]: loss {Loss:F4}, train {Train:P1}, test {Test:P1}{Precision} in {Seconds:F1}s.",
            job.Id, report.Epoch, job.Epochs, report.Stage, report.TrainLoss, report.TrainAccuracy, report.TestAccuracy,
            report.LabelPrecision is double p ? $", label precision {p:P1}" : "", report.Seconds);
    }

    private void StoreOutcome(JobWriter writer, Job job, Guid runId, TrainingOutcome outcome)
    {
        StoredFile model;
        using (StagedFile staged = store.Stage())
        {
            outcome.WriteModel(staged.Stream);
            model = staged.Commit($"runs/{runId:N}/model-t{writer.Lease.Token}.bin");
        }
        try
        {
            writer.Write(d =>
            {
                d.CurvePoints.RemoveRange(d.CurvePoints.Where(c => c.RunId == runId));
                d.Artifacts.RemoveRange(d.Artifacts.Where(a => a.RunId == runId && (a.Kind == ArtifactKinds.Model || a.Kind == ArtifactKinds.Checkpoint)));
                foreach (RankPoint p in outcome.Curve)
                {
                    d.CurvePoints.Add(new CurvePoint
                    {
                        Id = Guid.CreateVersion7(),
                        RunId = runId,
                        RankFraction = p.RankFraction,
                        Ranks = p.Ranks.ToArray(),
                        Parameters = p.Parameters,
                        Flops = p.Flops,
                        Accuracy = p.Accuracy,
                        SvdAccuracy = p.SvdAccuracy,
                        SvdParameters = p.SvdParameters,
                    });
                }
                d.Artifacts.Add(model.ToArtifact(ArtifactKinds.Model, Now, job.Id, runId));
                Run run = d.Runs.Single(r => r.Id == runId);
                run.TestAccuracy = outcome.TestAccuracy;
                run.ShippedEpoch = outcome.ShippedEpoch;
                run.ModelSelection = outcome.ModelSelection;
                run.ValidationAccuracy = outcome.ValidationAccuracy;
                int epochs = job.Epochs;
                JobLeases.Held(d, writer.Lease).ExecuteUpdate(s => s.SetProperty(j => j.Epoch, epochs));
            });
        }
        catch
        {
            store.Delete(model.Path);
            throw;
        }
        // The whole folder: it may also hold a file whose row a crash never committed.
        store.DeleteDirectory($"runs/{runId:N}/checkpoints");
        logger.LogInformation("Job {JobId} trained: test accuracy {Accuracy:P2}, {Points} curve points.",
            job.Id, outcome.TestAccuracy, outcome.Curve.Count);
    }

    /// <summary>Final status of the job and its run, lease cleared, in one fenced transaction.</summary>
    private void Finish(JobWriter writer, Guid? runId, JobStatus status, RunStatus runStatus, string? error)
    {
        DateTime now = Now;
        writer.Write(d =>
        {
            if (runId is Guid id && d.Runs.SingleOrDefault(r => r.Id == id) is { } run)
            {
                run.Status = runStatus;
                run.FinishedAt = now;
            }
            JobLeases.Held(d, writer.Lease).ExecuteUpdate(s => s
                .SetProperty(j => j.Status, status)
                .SetProperty(j => j.Error, error)
                .SetProperty(j => j.FinishedAt, now)
                .SetProperty(j => j.LeaseOwner, (string?)null)
                .SetProperty(j => j.LeaseExpiresAt, (DateTime?)null));
        });
    }

    private void TryFinish(JobWriter writer, Guid? runId, JobStatus status, RunStatus runStatus, string? error)
    {
        try
        {
            Finish(writer, runId == Guid.Empty ? null : runId, status, runStatus, error);
        }
        catch (Exception ex) when (ex is LeaseLostException || DatabaseErrors.IsTransient(ex))
        {
            logger.LogWarning(ex, "Job {JobId}: could not record {Status}; recovery will settle the job.", writer.Lease.JobId, status);
        }
    }

    private void TryRelease(JobWriter writer, string note)
    {
        try
        {
            using IServiceScope scope = scopes.CreateScope();
            JobLeases.Release(scope.ServiceProvider.GetRequiredService<AppDbContext>(), writer.Lease, note);
        }
        catch (Exception ex) when (DatabaseErrors.IsTransient(ex))
        {
            logger.LogWarning(ex, "Job {JobId}: could not hand the job back; its lease lapses and recovery re-queues it.", writer.Lease.JobId);
        }
    }

    /// <summary>Why a training stops early; set by the poll timer and Hangfire's token, read by the training thread.</summary>
    private sealed class StopReasons
    {
        public volatile bool CancelRequested;
        public volatile bool LeaseLost;
        public volatile bool Shutdown;
        public DateTime LastRenewal;
    }

    private sealed class Recorder(TrainingJob owner, JobWriter writer, Job job, Guid runId, StopReasons stop) : ITrainingObserver
    {
        public void OnEpochCompleted(EpochReport report, Action<Stream> writeCheckpoint)
        {
            owner.RecordEpoch(writer, job, runId, report, writeCheckpoint);
            if (stop.Shutdown && report.Epoch < report.Epochs)
            {
                // Graceful shutdown: this epoch is recorded; hand the job back now rather than start another.
                throw new OperationCanceledException("worker shutting down");
            }
        }
    }
}
