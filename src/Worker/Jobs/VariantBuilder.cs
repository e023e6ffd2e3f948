using System.Diagnostics;
using Domain.Variants;
using Infrastructure.Artifacts;
using Infrastructure.Data;
using Infrastructure.Observability;
using Microsoft.Extensions.Options;
using Training.Engine;
using Training.Export;
using Worker.Variants;

namespace Worker.Jobs;

/// <summary>
/// Turns a trained run into deployable variants: for every curve point, exports the truncated network as ONNX
/// and TorchSharp weights (once; existing exports are reused), checks ONNX Runtime against TorchSharp on held-out
/// inputs (a mismatch fails the job), and measures latency on this host's built-in device profiles.
/// Each step is a span under the job attempt's: <see cref="ExportSpan"/>, <see cref="VerifySpan"/> (only for
/// new exports) and <see cref="LatencySpan"/>, one per variant, tagged with its rank fraction.
/// </summary>
public sealed class VariantBuilder(
    AppDbContext db, IArtifactStore store, TimeProvider clock, IOptions<WorkerOptions> options, ILogger<VariantBuilder> logger)
{
    /// <summary>Batch sizes timed for every variant: single requests and a throughput batch.</summary>
    public static readonly int[] Batches = [1, 32];

    private const int VerificationSamples = 64;

    public const string ExportSpan = "training.variant.export";
    public const string VerifySpan = "training.variant.verify";
    public const string LatencySpan = "training.variant.latency";
    public const string RankFractionAttribute = "tas.variant.rank_fraction";

    /// <param name="save">Commits the tracked rows, fenced by the job's lease (<see cref="JobWriter.SaveChanges"/>).</param>
    /// <param name="attemptTag">Folder of this lease's exports, so a worker that lost the lease never overwrites the owner's files.</param>
    public void Build(Job job, Run run, LabeledData test, Action save, string attemptTag, CancellationToken cancellationToken)
    {
        Artifact model = db.Artifacts.AsNoTracking().Single(a => a.RunId == run.Id && a.Kind == ArtifactKinds.Model);
        List<CurvePoint> points = db.CurvePoints.AsNoTracking().Where(c => c.RunId == run.Id).ToList().OrderBy(c => c.RankFraction).ToList();
        int threads = options.Value.Threads > 0 ? options.Value.Threads : Environment.ProcessorCount;
        HostDescription host = HostProfile.Describe(threads);
        DeviceProfile cpu = EnsureProfile(Limit(host.ProfileName), host, gpu: false);
        DeviceProfile? gpu = host.GpuProfileName is null ? null : EnsureProfile(Limit(host.GpuProfileName), host, gpu: true);
        int count = Math.Min(VerificationSamples, test.Count);
        float[] inputs = test.Features.AsSpan(0, count * test.FeatureSize).ToArray();

        foreach (CurvePoint point in points)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (byte[] onnx, byte[] torchSharp) = ExportOnce(job, run, model, point, inputs, count, save, attemptTag);
            using Activity? latency = StartSpan(LatencySpan, point);
            latency?.SetTag("tas.variant.batches", Batches);
            latency?.SetTag("tas.device.profile", gpu is null ? cpu.Name : $"{cpu.Name},{gpu.Name}");
            foreach (int batch in Batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                LatencyResult cpuLatency = LatencyMeter.MeasureOnnxCpu(
                    onnx, test.SampleShape, batch, threads, minRuns: options.Value.LatencyMinRuns, minimumTotal: options.Value.LatencyMinimumTotal);
                Upsert(run, point, cpu, cpuLatency);
                if (gpu is not null && LatencyMeter.MeasureTorchCuda(
                        torchSharp, test.SampleShape, batch, minRuns: options.Value.LatencyMinRuns, minimumTotal: options.Value.LatencyMinimumTotal) is { } gpuLatency)
                {
                    Upsert(run, point, gpu, gpuLatency);
                }
            }
            save();
        }
        logger.LogInformation("Job {JobId}: {Count} variants exported, verified against ONNX Runtime and timed on {Device}{Gpu}.",
            job.Id, points.Count, cpu.Name, gpu is null ? "" : $" and {gpu.Name}");
    }

    private (byte[] Onnx, byte[] TorchSharp) ExportOnce(Job job, Run run, Artifact model, CurvePoint point, float[] inputs, int count, Action save, string attemptTag)
    {
        List<Artifact> existing = db.Artifacts.AsNoTracking()
            .Where(a => a.RunId == run.Id && (a.Kind == ArtifactKinds.VariantOnnx || a.Kind == ArtifactKinds.VariantTorchSharp))
            .ToList()
            .Where(a => a.RankFraction is double f && Math.Abs(f - point.RankFraction) < 1e-9)
            .ToList();
        Artifact? onnxFile = existing.FirstOrDefault(a => a.Kind == ArtifactKinds.VariantOnnx);
        Artifact? torchFile = existing.FirstOrDefault(a => a.Kind == ArtifactKinds.VariantTorchSharp);
        if (onnxFile is not null && torchFile is not null && store.Exists(onnxFile.Path) && store.Exists(torchFile.Path))
        {
            return (ReadAll(onnxFile.Path), ReadAll(torchFile.Path));
        }

        VariantExport export;
        using (Activity? span = StartSpan(ExportSpan, point))
        using (Stream stream = store.OpenRead(model.Path))
        {
            // The sweep's ranks: after shrinking, ranks derived from the saved model could differ.
            export = VariantExporter.Export(stream, point.RankFraction, point.Ranks);
            span?.SetTag("tas.variant.parameters", export.Parameters);
            span?.SetTag("tas.variant.onnx.size", export.Onnx.Length);
        }
        if (export.Parameters != point.Parameters)
        {
            throw new InvalidOperationException(
                $"Export of rank fraction {point.RankFraction} has {export.Parameters} parameters; the curve says {point.Parameters}.");
        }
        double difference;
        using (Activity? span = StartSpan(VerifySpan, point))
        {
            span?.SetTag("tas.variant.verify.samples", count);
            try
            {
                difference = OnnxVerifier.Verify(export, inputs, count);
            }
            catch (Exception ex)
            {
                // A mismatch fails the job; the trace shows which variant and why.
                span?.SetStatus(ActivityStatusCode.Error, ex.Message).SetTag("error.type", ex.GetType().FullName);
                throw;
            }
            span?.SetTag("tas.variant.verify.max_abs_diff", difference);
        }
        string folder = $"runs/{run.Id:N}/variants/{attemptTag}/{point.RankFraction.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}";
        StoredFile onnx = Store(export.Onnx, $"{folder}/model.onnx");
        StoredFile torch = Store(export.TorchSharp, $"{folder}/model.bin");
        db.Artifacts.RemoveRange(db.Artifacts.Where(a => existing.Select(e => e.Id).Contains(a.Id)));
        DateTime now = clock.GetUtcNow().UtcDateTime;
        db.Artifacts.Add(onnx.ToArtifact(ArtifactKinds.VariantOnnx, now, job.Id, run.Id, rankFraction: point.RankFraction));
        db.Artifacts.Add(torch.ToArtifact(ArtifactKinds.VariantTorchSharp, now, job.Id, run.Id, rankFraction: point.RankFraction));
        try
        {
            save();
        }
        catch
        {
            // Rows refused (lease lost) or not written: the files are this attempt's own, remove them.
            store.Delete(onnx.Path);
            store.Delete(torch.Path);
            throw;
        }
        logger.LogInformation("Job {JobId}: variant {Fraction} ({Forms}) exported, {Parameters} parameters, ONNX Runtime max |Δ| {Difference:E2}.",
            job.Id, point.RankFraction, string.Join("/", export.LayerForms), export.Parameters, difference);
        return (export.Onnx, export.TorchSharp);
    }

    /// <summary>A child of the current span, the job attempt's.</summary>
    private static Activity? StartSpan(string name, CurvePoint point) =>
        ServiceTelemetry.ActivitySource.StartActivity(name)?.SetTag(RankFractionAttribute, point.RankFraction);

    private StoredFile Store(byte[] bytes, string path)
    {
        using StagedFile staged = store.Stage();
        staged.Stream.Write(bytes);
        return staged.Commit(path);
    }

    private byte[] ReadAll(string path)
    {
        using Stream stream = store.OpenRead(path);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    private void Upsert(Run run, CurvePoint point, DeviceProfile device, LatencyResult result)
    {
        VariantLatency? row = db.VariantLatencies
            .Where(l => l.RunId == run.Id && l.DeviceProfileId == device.Id && l.Batch == result.Batch)
            .AsEnumerable()
            .FirstOrDefault(l => Math.Abs(l.RankFraction - point.RankFraction) < 1e-9);
        if (row is null)
        {
            row = new VariantLatency
            {
                Id = Guid.CreateVersion7(), RunId = run.Id, DeviceProfileId = device.Id, RankFraction = point.RankFraction,
                Batch = result.Batch, Runtime = result.Runtime,
            };
            db.VariantLatencies.Add(row);
        }
        row.MedianMs = result.MedianMs;
        row.P90Ms = result.P90Ms;
        row.Runs = result.Runs;
        row.Runtime = result.Runtime;
        row.Threads = result.Threads;
        row.MeasuredAt = clock.GetUtcNow().UtcDateTime;
    }

    private static string Limit(string name) => name.Length <= DeviceProfile.MaxNameLength ? name : name[..DeviceProfile.MaxNameLength].TrimEnd('-');

    /// <summary>The built-in profile of a host, created on first use (another worker may create it concurrently).</summary>
    private DeviceProfile EnsureProfile(string name, HostDescription host, bool gpu)
    {
        DeviceProfile? profile = db.DeviceProfiles.SingleOrDefault(d => d.Name == name && d.TenantId == null);
        if (profile is not null)
        {
            return profile;
        }
        profile = new DeviceProfile
        {
            Id = Guid.CreateVersion7(),
            Name = name,
            Description = gpu ? $"Built-in: {host.GpuName}, TorchSharp on CUDA" : $"Built-in: {host.CpuModel}, ONNX Runtime on {host.Threads} threads",
            CpuModel = host.CpuModel,
            Cores = host.Cores,
            Threads = host.Threads,
            GpuName = gpu ? host.GpuName : null,
            BuiltIn = true,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        db.DeviceProfiles.Add(profile);
        try
        {
            db.SaveChanges();
            return profile;
        }
        catch (DbUpdateException ex) when (UniqueViolations.Involves(ex, nameof(DeviceProfile.Name)))
        {
            // Another worker on this host created it first; any other failure propagates (a transient one is retried).
            db.Entry(profile).State = EntityState.Detached;
            return db.DeviceProfiles.Single(d => d.Name == name && d.TenantId == null);
        }
    }
}
