using System.ComponentModel.DataAnnotations;
using System.ComponentModel;
using System.Text.Json;
using Api.Common;
using Api.Extensions;
using Microsoft.Extensions.Options;

namespace Api.Jobs;

/// <summary>How far a job has trained.</summary>
/// <param name="Epoch">Epochs finished, over all stages.</param>
/// <param name="Epochs">Epochs of the whole job: every stage, the dense baseline included; fixed at submission.</param>
public sealed record JobProgress(int Epoch, int Epochs);

/// <summary>One epoch's metrics.</summary>
/// <param name="Epoch">The epoch, 1-based over all stages of the job.</param>
/// <param name="Stage">What the epoch trained, e.g. <c>train</c>, <c>maestro</c>, <c>nested</c>, <c>coteaching</c>.</param>
/// <param name="TrainLoss">Mean training loss of the epoch.</param>
/// <param name="TrainAccuracy">Accuracy on the (possibly noisy) training labels during the epoch.</param>
/// <param name="TestAccuracy">Accuracy on the test split after the epoch.</param>
/// <param name="LabelPrecision">Co-teaching: share of the kept samples whose label is clean; null otherwise.</param>
/// <param name="Seconds">Wall-clock seconds the epoch took.</param>
/// <param name="ValidationAccuracy">
/// Accuracy of the first network on the validation split of the noisy training labels (never the test labels);
/// null when the run holds out no split.
/// </param>
public sealed record MetricResponse(
    int Epoch, string Stage, double TrainLoss, double TrainAccuracy, double TestAccuracy, double? LabelPrecision, double Seconds,
    double? ValidationAccuracy)
{
    public static MetricResponse From(EpochMetric m) =>
        new(m.Epoch, m.Stage, m.TrainLoss, m.TrainAccuracy, m.TestAccuracy, m.LabelPrecision, m.Seconds, m.ValidationAccuracy);
}

/// <summary>A training job.</summary>
/// <param name="Id">The job's id.</param>
/// <param name="Status">Queued, Running, Succeeded, Failed or Cancelled.</param>
/// <param name="DatasetId">The dataset it trains on.</param>
/// <param name="Progress">Epochs done and in total.</param>
/// <param name="RunIds">Its runs (one per training attempt that started), oldest first.</param>
/// <param name="LatestMetrics">The latest epoch's metrics; absent before the first epoch.</param>
/// <param name="Error">Why it failed; absent unless it failed.</param>
/// <param name="Attempts">Times a worker started it (retries after a crash count).</param>
/// <param name="CancelRequested">Whether a cancel was asked for (a running training stops within seconds).</param>
/// <param name="CreatedAt">When it was submitted (UTC).</param>
/// <param name="StartedAt">When training first started (UTC).</param>
/// <param name="FinishedAt">When it reached a final status (UTC).</param>
/// <param name="Spec">The job spec as stored, with every default written out (see the JobSpec schema).</param>
public sealed record JobResponse(
    Guid Id, JobStatus Status, Guid DatasetId, JobProgress Progress, IReadOnlyList<Guid> RunIds,
    MetricResponse? LatestMetrics, string? Error, int Attempts, bool CancelRequested,
    DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt, JsonElement Spec);

public static class JobsApi
{
    public static RouteGroupBuilder MapJobsApi(this RouteGroupBuilder api)
    {
        RouteGroupBuilder group = api.MapGroup("/jobs").WithTags("Jobs");
        long maxSpecBytes = ((IEndpointRouteBuilder)api).ServiceProvider.GetRequiredService<IOptions<ApiOptions>>().Value.MaxJobSpecBytes;
        group.MapPost("/", SubmitAsync)
            .WithName("SubmitJob")
            .WithSummary("Submit a training job")
            .WithDescription($"Body: a JSON job spec of at most {maxSpecBytes} bytes (setting `{JobSpecBody.SettingKey}`; larger is a 413). Send an `Idempotency-Key` header to make retries safe: the same key and body return the first job (200); the same key with another body is a 409. "
                + "Per API key at most `Api:RateLimit:SubmissionsPerWindow` submissions per `Api:RateLimit:Window` when set (429 with Retry-After).")
            .Accepts<JobSpec>("application/json")
            .Produces<JobResponse>(StatusCodes.Status202Accepted)
            .Produces<JobResponse>(StatusCodes.Status200OK)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireRateLimiting(RequestLimits.SubmissionsPolicy);
        group.MapGet("/{id:guid}", GetAsync).WithName("GetJob").WithSummary("Get a job's status, progress and latest metrics")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/", ListAsync).WithName("ListJobs").WithSummary("List jobs, newest first, by status, dataset and creation time")
            .WithDescription("Every filter is optional. `createdAfter` <= createdAt < `createdBefore` (ISO-8601; without an offset a time is UTC); "
                + "a start later than the end is a 400 naming `createdBefore`.")
            .ProducesValidationProblem();
        group.MapPost("/{id:guid}/cancel", CancelAsync).WithName("CancelJob")
            .WithSummary("Cancel a job; a running training stops within a few seconds")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return group;
    }

    public static async Task<Results<Accepted<JobResponse>, Ok<JobResponse>>> SubmitAsync(
        HttpRequest request, JobService jobs, IOptions<ApiOptions> options, CancellationToken cancellationToken,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey = null)
    {
        string body = await JobSpecBody.ReadAsync(request, options.Value.MaxJobSpecBytes, cancellationToken);
        (Job job, bool created) = await jobs.SubmitAsync(body, idempotencyKey, cancellationToken);
        JobResponse response = await jobs.ToResponseAsync(job, cancellationToken);
        return created
            ? TypedResults.Accepted($"/api/v1/jobs/{job.Id}", response)
            : TypedResults.Ok(response);
    }

    public static async Task<Ok<JobResponse>> GetAsync(Guid id, JobService jobs, CancellationToken cancellationToken) =>
        TypedResults.Ok(await jobs.GetAsync(id, cancellationToken));

    public static async Task<Ok<Page<JobResponse>>> ListAsync(
        JobService jobs, CancellationToken cancellationToken, JobStatus? status = null, Guid? datasetId = null, [Range(0, int.MaxValue)] int offset = 0, [Range(1, Paging.MaxLimit)] int limit = 50,
        [Description(TimeWindow.AfterDescription)] DateTimeOffset? createdAfter = null,
        [Description(TimeWindow.BeforeDescription)] DateTimeOffset? createdBefore = null) =>
        TypedResults.Ok(await jobs.ListAsync(status, datasetId, offset, limit, createdAfter, createdBefore, cancellationToken));

    public static async Task<Accepted<JobResponse>> CancelAsync(Guid id, JobService jobs, CancellationToken cancellationToken)
    {
        JobResponse job = await jobs.CancelAsync(id, cancellationToken);
        return TypedResults.Accepted($"/api/v1/jobs/{job.Id}", job);
    }
}
