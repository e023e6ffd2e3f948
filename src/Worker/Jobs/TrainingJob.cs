using System.Diagnostics;
using Domain.Common;
using Infrastructure.Artifacts;
using Infrastructure.Data;
using Infrastructure.Jobs;
using Infrastructure.Observability;
using Infrastructure.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Training.Engine;
using Worker.Datasets;
using Worker.Telemetry;

namespace Worker.Jobs;

/// <summary>
/// Trains one job: loads its dataset, resumes from the run's latest checkpoint if there is one, records
/// metrics and a checkpoint after every epoch, and stores the rank curve and the model at the end.
/// Safe to run twice: a finished job is left alone and a retried one continues where it stopped.
/// </summary>
public sealed class TrainingJob(
    AppDbContext db,
    IArtifactStore store,
    DatasetLoader loader,
    TrainingEngine engine,
    VariantBuilder variants,
    IServiceScopeFactory scopes,
    TimeProvider clock,
    IOptions<WorkerOptions> workerOptions,
    ILogger<TrainingJob> logger) : ITrainingJob
{
    public void Run(Guid jobId, CancellationToken cancellationToken)
    {
        // Every line this job writes carries JobId (TraceId and SpanId come from the job's span, see JobTracingFilter).
        using IDisposable? jobScope = logger.BeginScope(new Dictionary<string, object> { ["JobId"] = jobId });
        Job? job = db.Jobs.SingleOrDefault(j => j.Id == jobId);
        if (job is null)
        {
            logger.LogWarning("Job {JobId} no longer exists; nothing to do.", jobId);
            return;
        }
        if (job.IsFinished)
        {
            logger.LogInformation("Job {JobId} is already {Status}; nothing to do.", jobId, job.Status);
            return;
        }
        if (job.CancelRequested)
        {
            Finish(job, null, JobStatus.Cancelled, RunStatus.Cancelled, null);
            return;
        }

        job.Status = JobStatus.Running;
        job.Attempts++;
        job.StartedAt ??= Now;
        job.Error = null;
        Run run = db.Runs.SingleOrDefault(r => r.JobId == job.Id && r.Index == 0)
            ?? db.Runs.Add(new Run { Id = Guid.CreateVersion7(), TenantId = job.TenantId, JobId = job.Id, Index = 0, StartedAt = Now }).Entity;
        run.Status = RunStatus.Running;
        run.Device = engine.DeviceName;
        db.SaveChanges();
        using IDisposable? runScope = logger.BeginScope(new Dictionary<string, object> { ["RunId"] = run.Id, ["Attempt"] = job.Attempts });
        Activity.Current?.SetTag(ServiceTelemetry.RunIdAttribute, run.Id.ToString()).SetTag(ServiceTelemetry.AttemptAttribute, job.Attempts);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using Timer poll = new(_ => PollCancel(job.Id, cancel), null, workerOptions.Value.CancelPollInterval, workerOptions.Value.CancelPollInterval);
        try
        {
            JobSpec spec = JobSpec.Parse(job.SpecJson);
            // The plan owns the total; a job queued before the Api counted every stage is corrected here.
            int totalEpochs = StagePlan.From(spec).TotalEpochs;
            if (job.Epochs != totalEpochs)
            {
                job.Epochs = totalEpochs;
                db.SaveChanges();
            }
            Dataset dataset = db.Datasets.AsNoTracking().SingleOrDefault(d => d.Id == job.DatasetId)
                ?? throw new DomainValidationException("datasetId", $"dataset '{job.DatasetId}' no longer exists.");
            (LabeledData train, LabeledData test) = loader.Load(dataset);
            if (!db.Artifacts.Any(a => a.RunId == run.Id && a.Kind == ArtifactKinds.Model))
            {
                Train(job, run, spec, train, test, cancel.Token);
            }
            else
            {
                logger.LogInformation("Job {JobId}: run {RunId} is already trained; building its variants.", job.Id, run.Id);
            }
            // Its export, verification and latency spans are children of this job's span.
            variants.Build(job, run, test, cancel.Token);
            Finish(job, run, JobStatus.Succeeded, RunStatus.Succeeded, null);
            logger.LogInformation("Job {JobId} succeeded.", job.Id);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            db.Entry(job).Reload();
            if (job.CancelRequested)
            {
                Finish(job, run, JobStatus.Cancelled, RunStatus.Cancelled, null);
                logger.LogInformation("Job {JobId} cancelled after epoch {Epoch}.", job.Id, job.Epoch);
                return;
            }
            // The server is shutting down: leave the job to be retried, it resumes from the checkpoint.
            job.Status = JobStatus.Queued;
            db.SaveChanges();
            throw;
        }
        catch (Exception ex) when (ex is DomainValidationException or InvalidDataException)
        {
            // The input cannot train; retrying would fail the same way.
            Finish(job, run, JobStatus.Failed, RunStatus.Failed, ex.Message);
            logger.LogWarning(ex, "Job {JobId} failed on its input.", job.Id);
        }
        catch (Exception ex)
        {
            bool lastAttempt = job.Attempts > ITrainingJob.Retries;
            logger.LogError(ex, "Job {JobId} attempt {Attempt} failed{Retry}.", job.Id, job.Attempts, lastAttempt ? "" : "; it will be retried");
            if (lastAttempt)
            {
                Finish(job, run, JobStatus.Failed, RunStatus.Failed, $"{ex.GetType().Name}: {ex.Message}");
                return;
            }
            job.Status = JobStatus.Queued;
            job.Error = $"attempt {job.Attempts} failed ({ex.GetType().Name}: {ex.Message}); retrying";
            db.SaveChanges();
            throw;
        }
    }

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    private void Train(Job job, Run run, JobSpec spec, LabeledData train, LabeledData test, CancellationToken cancellationToken)
    {
        Artifact? checkpoint = LatestCheckpoint(run.Id);
        logger.LogInformation("Job {JobId} attempt {Attempt}: training run {RunId} on {Device}{Resume}.",
            job.Id, job.Attempts, run.Id, engine.DeviceName, checkpoint is null ? "" : $", resuming after epoch {checkpoint.Epoch}");
        TrainingOutcome outcome;
        using (Stream? resume = checkpoint is null ? null : store.OpenRead(checkpoint.Path))
        {
            outcome = engine.Run(new TrainingRequest(spec, train, test), new InstrumentedObserver(new Recorder(this, job, run), train.Count, engine.DeviceName), resume, cancellationToken);
        }
        StoreOutcome(job, run, outcome);
    }

    private Artifact? LatestCheckpoint(Guid runId) =>
        db.Artifacts.Where(a => a.RunId == runId && a.Kind == ArtifactKinds.Checkpoint)
            .OrderByDescending(a => a.Epoch).FirstOrDefault();

    private void PollCancel(Guid jobId, CancellationTokenSource cancel)
    {
        try
        {
            using IServiceScope scope = scopes.CreateScope();
            AppDbContext pollDb = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            if (pollDb.Jobs.Where(j => j.Id == jobId).Select(j => j.CancelRequested).FirstOrDefault())
            {
                cancel.Cancel();
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogDebug(ex, "Cancel poll for job {JobId} failed; will try again.", jobId);
        }
    }

    /// <summary>Writes the checkpoint file, then the epoch's metric row and the checkpoint row in one transaction.</summary>
    private void RecordEpoch(Job job, Run run, EpochReport report, Action<Stream> writeCheckpoint)
    {
        StoredFile file;
        using (StagedFile staged = store.Stage())
        {
            writeCheckpoint(staged.Stream);
            file = staged.Commit($"runs/{run.Id:N}/checkpoints/epoch-{report.Epoch:D4}.ckpt");
        }
        List<Artifact> older = db.Artifacts.Where(a => a.RunId == run.Id && a.Kind == ArtifactKinds.Checkpoint).ToList();
        using (var tx = db.Database.BeginTransaction())
        {
            // A metric beyond the checkpoint can only exist if a crash hit between commit and cleanup; replace it.
            db.EpochMetrics.RemoveRange(db.EpochMetrics.Where(m => m.RunId == run.Id && m.Epoch >= report.Epoch));
            db.EpochMetrics.Add(new EpochMetric
            {
                Id = Guid.CreateVersion7(),
                RunId = run.Id,
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
            db.Artifacts.Add(file.ToArtifact(ArtifactKinds.Checkpoint, Now, job.Id, run.Id, epoch: report.Epoch));
            db.Artifacts.RemoveRange(older.Where(a => a.Path != file.Path));
            job.Epoch = report.Epoch;
            db.SaveChanges();
            tx.Commit();
        }
        foreach (Artifact old in older.Where(a => a.Path != file.Path))
        {
            store.Delete(old.Path);
        }
        if (report.Epochs != job.Epochs)
        {
            // The engine plans with StagePlan too; a difference is a bug there, the job keeps the plan's count.
            logger.LogWarning("Job {JobId}: the engine reports {EngineEpochs} epochs, the stage plan {PlanEpochs}.", job.Id, report.Epochs, job.Epochs);
        }
        logger.LogInformation("Job {JobId} epoch {Epoch}/{Epochs} [{Stage}]: loss {Loss:F4}, train {Train:P1}, test {Test:P1}{Precision} in {Seconds:F1}s.",
            job.Id, report.Epoch, job.Epochs, report.Stage, report.TrainLoss, report.TrainAccuracy, report.TestAccuracy,
            report.LabelPrecision is double p ? $", label precision {p:P1}" : "", report.Seconds);
    }

    private void StoreOutcome(Job job, Run run, TrainingOutcome outcome)
    {
        StoredFile model;
        using (StagedFile staged = store.Stage())
        {
            outcome.WriteModel(staged.Stream);
            model = staged.Commit($"runs/{run.Id:N}/model.bin");
        }
        List<Artifact> checkpoints = db.Artifacts.Where(a => a.RunId == run.Id && a.Kind == ArtifactKinds.Checkpoint).ToList();
        using (var tx = db.Database.BeginTransaction())
        {
            db.CurvePoints.RemoveRange(db.CurvePoints.Where(c => c.RunId == run.Id));
            db.Artifacts.RemoveRange(db.Artifacts.Where(a => a.Path == model.Path));
            db.SaveChanges();
            foreach (RankPoint p in outcome.Curve)
            {
                db.CurvePoints.Add(new CurvePoint
                {
                    Id = Guid.CreateVersion7(),
                    RunId = run.Id,
                    RankFraction = p.RankFraction,
                    Ranks = p.Ranks.ToArray(),
                    Parameters = p.Parameters,
                    Flops = p.Flops,
                    Accuracy = p.Accuracy,
                    SvdAccuracy = p.SvdAccuracy,
                    SvdParameters = p.SvdParameters,
                });
            }
            db.Artifacts.Add(model.ToArtifact(ArtifactKinds.Model, Now, job.Id, run.Id));
            db.Artifacts.RemoveRange(checkpoints);
            run.TestAccuracy = outcome.TestAccuracy;
            run.ShippedEpoch = outcome.ShippedEpoch;
            run.ModelSelection = outcome.ModelSelection;
            run.ValidationAccuracy = outcome.ValidationAccuracy;
            job.Epoch = job.Epochs;
            db.SaveChanges();
            tx.Commit();
        }
        // The whole folder: it may also hold a file whose row a crash never committed.
        store.DeleteDirectory($"runs/{run.Id:N}/checkpoints");
        logger.LogInformation("Job {JobId} trained: test accuracy {Accuracy:P2}, {Points} curve points.",
            job.Id, outcome.TestAccuracy, outcome.Curve.Count);
    }

    private void Finish(Job job, Run? run, JobStatus status, RunStatus runStatus, string? error)
    {
        SetFinished(job, run, status, runStatus, error);
        db.SaveChanges();
    }

    private void SetFinished(Job job, Run? run, JobStatus status, RunStatus runStatus, string? error)
    {
        job.Status = status;
        job.Error = error;
        job.FinishedAt = Now;
        if (run is not null)
        {
            run.Status = runStatus;
            run.FinishedAt = Now;
        }
    }

    private sealed class Recorder(TrainingJob owner, Job job, Run run) : ITrainingObserver
    {
        public void OnEpochCompleted(EpochReport report, Action<Stream> writeCheckpoint) =>
            owner.RecordEpoch(job, run, report, writeCheckpoint);
    }
}
