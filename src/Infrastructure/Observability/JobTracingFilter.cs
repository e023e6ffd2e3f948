using System.Diagnostics;
using Hangfire.Client;
using Hangfire.Server;

namespace Infrastructure.Observability;

/// <summary>
/// Carries the submitting request's trace into the background job and makes each job attempt a span.
/// On enqueue the current W3C <c>traceparent</c> is stored as a Hangfire job parameter (so no table changes,
/// and retries and crash-resumes keep it); on perform a <c>training.job</c> span starts as its child and
/// <see cref="ServiceTelemetry.JobDuration"/> records the attempt. The same approach as OpenTelemetry's
/// contrib Hangfire instrumentation, limited to what this service needs.
/// </summary>
public sealed class JobTracingFilter : IClientFilter, IServerFilter
{
    public const string TraceParentParameter = "traceparent";
    private const string ActivityItem = "tas.activity";
    private const string StartedItem = "tas.started";

    public void OnCreating(CreatingContext context)
    {
        if (Activity.Current is { IdFormat: ActivityIdFormat.W3C } current)
        {
            context.SetJobParameter(TraceParentParameter, current.Id);
        }
    }

    public void OnCreated(CreatedContext context)
    {
    }

    public void OnPerforming(PerformingContext context)
    {
        string? traceParent = context.GetJobParameter<string>(TraceParentParameter, allowStale: true);
        ActivityContext.TryParse(traceParent, null, isRemote: true, out ActivityContext parent);
        Activity? activity = ServiceTelemetry.ActivitySource.StartActivity("training.job", ActivityKind.Consumer, parent);
        if (activity is not null)
        {
            activity.SetTag("messaging.system", "hangfire");
            activity.SetTag("messaging.message.id", context.BackgroundJob.Id);
            if (context.BackgroundJob.Job?.Args is [Guid jobId, ..])
            {
                activity.SetTag(ServiceTelemetry.JobIdAttribute, jobId.ToString());
            }
            context.Items[ActivityItem] = activity;
        }
        context.Items[StartedItem] = Stopwatch.GetTimestamp();
    }

    public void OnPerformed(PerformedContext context)
    {
        string? errorType = context.Exception is { } ex && !context.ExceptionHandled
            ? (ex.InnerException ?? ex).GetType().FullName
            : null;
        if (context.Items.TryGetValue(StartedItem, out object? started) && started is long timestamp)
        {
            double seconds = Stopwatch.GetElapsedTime(timestamp).TotalSeconds;
            if (errorType is null)
            {
                ServiceTelemetry.JobDuration.Record(seconds);
            }
            else
            {
                ServiceTelemetry.JobDuration.Record(seconds, new KeyValuePair<string, object?>("error.type", errorType));
            }
        }
        if (context.Items.TryGetValue(ActivityItem, out object? item) && item is Activity activity)
        {
            if (errorType is not null)
            {
                activity.SetStatus(ActivityStatusCode.Error, context.Exception!.InnerException?.Message ?? context.Exception.Message);
                activity.SetTag("error.type", errorType);
            }
            activity.Dispose();
        }
    }
}
