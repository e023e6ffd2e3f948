using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Api.Auth;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;

namespace Api.Extensions;

/// <summary>
/// Section <c>Api:RateLimit</c>: fixed windows per API key on dataset uploads and job submissions (REST and gRPC). A request
/// over the limit is a 429 problem+json with <c>Retry-After</c> (gRPC: RESOURCE_EXHAUSTED). 0 turns a limit off (the default).
/// </summary>
public sealed class RateLimitOptions
{
    public const string SectionName = $"{ApiOptions.SectionName}:RateLimit";

    /// <summary>Dataset uploads one API key may start per <see cref="Window"/>; 0: unlimited.</summary>
    public int UploadsPerWindow { get; set; }

    /// <summary>Job submissions one API key may make per <see cref="Window"/>; 0: unlimited.</summary>
    public int SubmissionsPerWindow { get; set; }

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Rate limits (<see cref="RateLimitOptions"/>), request timeouts and the per-tenant cap on WatchJob streams.</summary>
internal static class RequestLimits
{
    public const string UploadsPolicy = "uploads";
    public const string SubmissionsPolicy = "submissions";

    /// <summary>The request-timeout policy of uploads (<see cref="ApiOptions.UploadRequestTimeout"/>).</summary>
    public const string UploadTimeoutPolicy = "uploads";

    public static IServiceCollection AddRequestLimits(this IServiceCollection services, IConfiguration configuration)
    {
        RateLimitOptions rates = configuration.GetSection(RateLimitOptions.SectionName).Get<RateLimitOptions>() ?? new();
        ApiOptions api = configuration.GetSection(ApiOptions.SectionName).Get<ApiOptions>() ?? new();
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(UploadsPolicy, http => PerKey(http, rates.UploadsPerWindow, rates.Window));
            limiter.AddPolicy(SubmissionsPolicy, http => PerKey(http, rates.SubmissionsPerWindow, rates.Window));
            limiter.OnRejected = (context, cancellationToken) => RejectAsync(context, rates, cancellationToken);
        });
        services.AddRequestTimeouts(timeouts =>
        {
            timeouts.DefaultPolicy = Policy(api.RequestTimeout, nameof(ApiOptions.RequestTimeout));
            timeouts.AddPolicy(UploadTimeoutPolicy, Policy(api.UploadRequestTimeout, nameof(ApiOptions.UploadRequestTimeout)));
        });
        services.AddSingleton<WatchStreamLimiter>();
        return services;
    }

    private static RateLimitPartition<string> PerKey(HttpContext http, int permits, TimeSpan window) =>
        permits <= 0
            ? RateLimitPartition.GetNoLimiter("")
            // Authentication ran first: a request without a valid key was answered 401 before it got here.
            : RateLimitPartition.GetFixedWindowLimiter(http.User.FindFirstValue(ApiKeyClaims.KeyId) ?? "",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = window, QueueLimit = 0 });

    private static async ValueTask RejectAsync(OnRejectedContext context, RateLimitOptions rates, CancellationToken cancellationToken)
    {
        HttpContext http = context.HttpContext;
        string? policy = http.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName;
        (string setting, int permits) = policy == UploadsPolicy
            ? (nameof(RateLimitOptions.UploadsPerWindow), rates.UploadsPerWindow)
            : (nameof(RateLimitOptions.SubmissionsPerWindow), rates.SubmissionsPerWindow);
        int retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan wait)
            ? (int)Math.Max(1, Math.Ceiling(wait.TotalSeconds))
            : (int)Math.Max(1, Math.Ceiling(rates.Window.TotalSeconds));
        string detail = $"This API key made {permits} {(policy == UploadsPolicy ? "uploads" : "submissions")} in the last {rates.Window}; "
            + $"the limit is {permits} per window ({RateLimitOptions.SectionName}:{setting}). Retry in {retryAfter} seconds.";
        http.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        if (Grpc.GrpcErrors.IsGrpcRequest(http))
        {
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = "application/grpc";
            http.Response.Headers["grpc-status"] = ((int)global::Grpc.Core.StatusCode.ResourceExhausted).ToString(CultureInfo.InvariantCulture);
            http.Response.Headers["grpc-message"] = Uri.EscapeDataString(detail);
            return;
        }
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails { Status = StatusCodes.Status429TooManyRequests, Title = "Too many requests.", Detail = detail },
        });
    }

    /// <summary>A timeout that answers 504 problem+json naming its setting; none when the setting is zero or less.</summary>
    private static RequestTimeoutPolicy Policy(TimeSpan timeout, string setting) => new()
    {
        Timeout = timeout > TimeSpan.Zero ? timeout : null,
        TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
        WriteTimeoutResponse = async http =>
        {
            if (http.Response.HasStarted)
            {
                return;
            }
            await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = http,
                ProblemDetails = new ProblemDetails
                {
                    Status = StatusCodes.Status504GatewayTimeout,
                    Title = "Request timed out.",
                    Detail = $"The request took longer than {timeout} ({ApiOptions.SectionName}:{setting}) and was stopped; nothing of it was kept.",
                },
            });
        },
    };
}

/// <summary>
/// Open WatchJob streams per tenant in this Api process, at most <see cref="ApiOptions.MaxWatchStreamsPerTenant"/>: each
/// stream polls the database, so one tenant cannot hold an unbounded share of it.
/// </summary>
public sealed class WatchStreamLimiter(Microsoft.Extensions.Options.IOptions<ApiOptions> options)
{
    private readonly Dictionary<Guid, int> _open = [];

    /// <summary>Takes a slot for <paramref name="tenant"/>; dispose the result to give it back. Null when the tenant is at the limit.</summary>
    public IDisposable? TryEnter(Guid tenant)
    {
        lock (_open)
        {
            int open = _open.GetValueOrDefault(tenant);
            if (open >= options.Value.MaxWatchStreamsPerTenant)
            {
                return null;
            }
            _open[tenant] = open + 1;
        }
        return new Slot(this, tenant);
    }

    private void Exit(Guid tenant)
    {
        lock (_open)
        {
            if (--_open[tenant] == 0)
            {
                _open.Remove(tenant);
            }
        }
    }

    private sealed class Slot(WatchStreamLimiter limiter, Guid tenant) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                limiter.Exit(tenant);
            }
        }
    }
}
