using System.Runtime.CompilerServices;
using JobSpec = Domain.Jobs.JobSpec;

namespace TrainingService.Sdk;

/// <summary>
/// Jobs over <c>training.v1.JobService</c> (<see cref="TrainingClient.Jobs"/>): submit, get, list, cancel and watch.
/// Submission (always with an idempotency key), gets and lists are retried on <see cref="StatusCode.Unavailable"/>;
/// cancellation is not; <see cref="WatchAsync"/> reconnects and resumes after the last epoch it yielded.
/// </summary>
public sealed class JobsClient
{
    private readonly ClientContext _context;
    private readonly JobService.JobServiceClient _jobs;

    internal JobsClient(ClientContext context)
    {
        _context = context;
        _jobs = new JobService.JobServiceClient(context.Invoker);
    }

    /// <summary>
    /// Submits a job. Without <paramref name="idempotencyKey"/> a fresh one is generated, so the automatic
    /// retries of this call never create a second job.
    /// </summary>
    public Task<SubmitJobResponse> SubmitAsync(JobSpec spec, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return SubmitAsync(spec.ToJson(), idempotencyKey, cancellationToken);
    }

    /// <summary>Submits a job spec given as the JSON body of the REST <c>POST /api/v1/jobs</c>.</summary>
    public async Task<SubmitJobResponse> SubmitAsync(string specJson, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(specJson);
        var request = new SubmitJobRequest { SpecJson = specJson, IdempotencyKey = idempotencyKey ?? Guid.NewGuid().ToString() };
        return await _jobs.SubmitJobAsync(request, cancellationToken: cancellationToken);
    }

    /// <summary>Gets a job's status, progress and latest metrics.</summary>
    public async Task<Job> GetAsync(Guid id, CancellationToken cancellationToken = default) =>
        await _jobs.GetJobAsync(new GetJobRequest { Id = id.ToString() }, cancellationToken: cancellationToken);

    /// <summary>
    /// Lists jobs, newest first, optionally by status, dataset and creation time (<paramref name="createdAfter"/>
    /// inclusive, <paramref name="createdBefore"/> exclusive; a start later than the end is
    /// <see cref="StatusCode.InvalidArgument"/> naming <c>createdBefore</c>).
    /// </summary>
    public async Task<ListJobsResponse> ListAsync(
        JobStatus status = JobStatus.Unspecified, Guid? datasetId = null, int offset = 0, int limit = 50,
        DateTimeOffset? createdAfter = null, DateTimeOffset? createdBefore = null, CancellationToken cancellationToken = default) =>
        await _jobs.ListJobsAsync(new ListJobsRequest
        {
            Status = status,
            DatasetId = datasetId?.ToString() ?? "",
            Offset = offset,
            Limit = limit,
            CreatedAfter = ClientContext.ToTimestamp(createdAfter),
            CreatedBefore = ClientContext.ToTimestamp(createdBefore),
        }, cancellationToken: cancellationToken);

    /// <summary>Cancels a job (not retried: a repeated cancel of a job that is now cancelled is FAILED_PRECONDITION).</summary>
    public async Task<Job> CancelAsync(Guid id, CancellationToken cancellationToken = default) =>
        await _jobs.CancelJobAsync(new CancelJobRequest { Id = id.ToString() }, cancellationToken: cancellationToken);

    /// <summary>
    /// Follows a job until it finishes: a <see cref="StatusChanged"/> first and on every change, one
    /// <see cref="EpochCompleted"/> per epoch after <paramref name="afterEpoch"/>. A dropped connection is
    /// re-established transparently, resuming after the last epoch and status yielded, so no event repeats.
    /// The sequence ends when the job is Succeeded, Failed or Cancelled.
    /// </summary>
    public async IAsyncEnumerable<JobEvent> WatchAsync(
        Guid jobId, int afterEpoch = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = new WatchJobRequest { JobId = jobId.ToString(), AfterEpoch = afterEpoch };
        int failures = 0;
        while (true)
        {
            using AsyncServerStreamingCall<JobEvent> call = _jobs.WatchJob(request, cancellationToken: cancellationToken);
            while (true)
            {
                bool next;
                try
                {
                    next = await call.ResponseStream.MoveNext(cancellationToken);
                }
                catch (RpcException ex) when (ClientContext.IsTransient(ex) && !cancellationToken.IsCancellationRequested && failures < _context.Options.MaxWatchReconnects)
                {
                    failures++;
                    break;
                }
                if (!next)
                {
                    yield break;
                }
                failures = 0;
                JobEvent current = call.ResponseStream.Current;
                switch (current.EventCase)
                {
                    case JobEvent.EventOneofCase.EpochCompleted:
                        request.AfterEpoch = Math.Max(request.AfterEpoch, current.EpochCompleted.Metrics.Epoch);
                        break;
                    case JobEvent.EventOneofCase.StatusChanged:
                        request.KnownStatus = current.StatusChanged.Status;
                        break;
                }
                yield return current;
            }
            await Task.Delay(_context.Backoff(failures), cancellationToken);
        }
    }
}
