using Api.Auth;
using Api.Common;
using Api.Jobs;
using Grpc.Core;
using Microsoft.Extensions.Options;
using V1 = TrainingService.Sdk.V1;

namespace Api.Grpc;

/// <summary>
/// <c>training.v1.JobService</c>: submission, cancellation, idempotency and reads through the same
/// <see cref="JobService"/> as REST, and WatchJob, which polls it.
/// </summary>
internal sealed class JobGrpcService(
    JobService jobs, IOptions<GrpcOptions> options, IOptions<Api.Extensions.ApiOptions> apiOptions, TimeProvider clock,
    Api.Extensions.WatchStreamLimiter watchStreams)
    : V1.JobService.JobServiceBase
{
    [Microsoft.AspNetCore.RateLimiting.EnableRateLimiting(Api.Extensions.RequestLimits.SubmissionsPolicy)]
    public override async Task<V1.SubmitJobResponse> SubmitJob(V1.SubmitJobRequest request, ServerCallContext context)
    {
        string? key = request.IdempotencyKey.Length == 0 ? null : request.IdempotencyKey;
        long maxSpecBytes = apiOptions.Value.MaxJobSpecBytes;
        if (System.Text.Encoding.UTF8.GetByteCount(request.SpecJson) > maxSpecBytes)
        {
            GrpcErrors.ThrowResourceExhausted(JobSpecBody.TooLarge(maxSpecBytes));
        }
        (Job job, bool created) = (null!, false);
        try
        {
            (job, created) = await jobs.SubmitAsync(request.SpecJson, key, context.CancellationToken);
        }
        catch (DomainValidationException ex)
        {
            // The REST contract names the header; here it is a field of the request, and the spec is spec_json.
            GrpcErrors.ThrowInvalidArgument(ex.Errors.Select(e => e.Field switch
            {
                "Idempotency-Key" => e with { Field = "idempotencyKey" },
                "body" => e with { Field = "specJson" },
                _ => e,
            }));
        }
        catch (ConflictException ex)
        {
            GrpcErrors.ThrowAlreadyExists(ex.Message);
        }
        JobResponse response = await jobs.GetAsync(job.Id, context.CancellationToken);
        return new V1.SubmitJobResponse { Job = GrpcMapping.ToMessage(response), Created = created };
    }

    public override async Task<V1.Job> GetJob(V1.GetJobRequest request, ServerCallContext context)
    {
        Guid id = GrpcErrors.ParseId(request.Id, "id");
        return GrpcMapping.ToMessage(await jobs.GetAsync(id, context.CancellationToken));
    }

    public override async Task<V1.ListJobsResponse> ListJobs(V1.ListJobsRequest request, ServerCallContext context)
    {
        Guid? datasetId = GrpcErrors.ParseOptionalId(request.DatasetId, "datasetId");
        Page<JobResponse> page = await jobs.ListAsync(
            GrpcMapping.FromMessage(request.Status), datasetId, request.Offset, GrpcMapping.Limit(request.Limit),
            GrpcMapping.FromTimestamp(request.CreatedAfter, "createdAfter"), GrpcMapping.FromTimestamp(request.CreatedBefore, "createdBefore"),
            context.CancellationToken);
        var response = new V1.ListJobsResponse { Total = page.Total, Offset = page.Offset, Limit = page.Limit };
        response.Items.AddRange(page.Items.Select(GrpcMapping.ToMessage));
        return response;
    }

    public override async Task<V1.Job> CancelJob(V1.CancelJobRequest request, ServerCallContext context)
    {
        Guid id = GrpcErrors.ParseId(request.Id, "id");
        return GrpcMapping.ToMessage(await jobs.CancelAsync(id, context.CancellationToken));
    }

    /// <summary>
    /// Polls the database (so it follows jobs trained by any worker process) and sends what the client has
    /// not seen: epochs after <c>after_epoch</c>, and the status when it differs from the last one sent. A stream lasts as long
    /// as the job (no request timeout); a tenant may hold <c>Api:MaxWatchStreamsPerTenant</c> at once (RESOURCE_EXHAUSTED beyond).
    /// </summary>
    [Microsoft.AspNetCore.Http.Timeouts.DisableRequestTimeout]
    public override async Task WatchJob(V1.WatchJobRequest request, IServerStreamWriter<V1.JobEvent> responseStream, ServerCallContext context)
    {
        Guid id = GrpcErrors.ParseId(request.JobId, "jobId");
        if (request.AfterEpoch < 0)
        {
            GrpcErrors.ThrowInvalidArgument("afterEpoch", $"must be 0 or more (was {request.AfterEpoch}).");
        }
        GrpcMapping.FromMessage(request.KnownStatus);
        Guid tenant = context.GetHttpContext().User.Tenant() ?? Guid.Empty;
        using IDisposable? slot = watchStreams.TryEnter(tenant);
        if (slot is null)
        {
            int max = apiOptions.Value.MaxWatchStreamsPerTenant;
            GrpcErrors.ThrowResourceExhausted(
                $"Your tenant has {max} WatchJob streams open; the limit is {max} ({Api.Extensions.ApiOptions.SectionName}:{nameof(Api.Extensions.ApiOptions.MaxWatchStreamsPerTenant)}). Close one or poll GetJob.");
        }
        CancellationToken cancellationToken = context.CancellationToken;
        int afterEpoch = request.AfterEpoch;
        V1.JobStatus sent = request.KnownStatus;
        while (true)
        {
            (Job job, IReadOnlyList<Guid> runIds, IReadOnlyList<EpochMetric> epochs) = await jobs.WatchStateAsync(id, afterEpoch, cancellationToken);
            V1.JobStatus status = GrpcMapping.ToMessage(job.Status);

            // Queued → Running comes before the epochs it produced; the final status after the last epoch.
            if (!job.IsFinished && status != sent)
            {
                await responseStream.WriteAsync(StatusEvent(job, runIds), cancellationToken);
                sent = status;
            }
            foreach (EpochMetric metric in epochs)
            {
                var completed = new V1.EpochCompleted
                {
                    RunId = metric.RunId.ToString(),
                    Epochs = job.Epochs,
                    Metrics = GrpcMapping.ToMessage(MetricResponse.From(metric)),
                };
                await responseStream.WriteAsync(new V1.JobEvent { EpochCompleted = completed }, cancellationToken);
                afterEpoch = metric.Epoch;
            }
            if (job.IsFinished)
            {
                if (status != sent)
                {
                    await responseStream.WriteAsync(StatusEvent(job, runIds), cancellationToken);
                }
                return;
            }
            await Task.Delay(options.Value.WatchPollInterval, clock, cancellationToken);
        }
    }

    private static V1.JobEvent StatusEvent(Job job, IReadOnlyList<Guid> runIds)
    {
        var changed = new V1.StatusChanged { Status = GrpcMapping.ToMessage(job.Status), Epoch = job.Epoch, Epochs = job.Epochs };
        if (job.Error is not null)
        {
            changed.Error = job.Error;
        }
        changed.RunIds.AddRange(runIds.Select(r => r.ToString()));
        return new V1.JobEvent { StatusChanged = changed };
    }
}
