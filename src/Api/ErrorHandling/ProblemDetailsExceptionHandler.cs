using Infrastructure.Artifacts;
using Microsoft.AspNetCore.Diagnostics;

namespace Api.ErrorHandling;

/// <summary>
/// Maps domain exceptions to RFC 7807 responses: validation → 400 with every field and reason,
/// not found → 404, conflict → 409, oversized body → 413, malformed request → 400, a full artifact store → 507,
/// an unreachable or busy database → 503 with Retry-After. Anything else is a 500. A gRPC request that fails before its
/// service runs (the API key lookup) gets the gRPC status instead (<see cref="Grpc.GrpcErrors.ToStatus"/>).
/// </summary>
internal sealed class ProblemDetailsExceptionHandler(IProblemDetailsService problems, ILogger<ProblemDetailsExceptionHandler> logger) : IExceptionHandler
{
    public const string DiskFullTitle = "Insufficient storage.";

    /// <summary>The 507 detail: the client learns nothing was kept; the setting tells an operator where space ran out.</summary>
    public const string DiskFullDetail =
        "The server's artifact storage is full (no space left on device or quota exceeded); nothing of this request was kept. "
        + "Retry once an operator has freed space on the volume behind Storage:ArtifactRoot.";

    public const string DatabaseUnavailableTitle = "Service unavailable.";

    public static readonly string DatabaseUnavailableDetail =
        $"The database is unreachable or busy; nothing was changed. Retry in {Infrastructure.Data.DatabaseErrors.RetryAfterSeconds} seconds.";

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        if (Grpc.GrpcErrors.IsGrpcRequest(http) && Grpc.GrpcErrors.ToStatus(exception) is { } status)
        {
            // Trailers-only gRPC response: HTTP 200 whose headers carry the status.
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = "application/grpc";
            http.Response.Headers["grpc-status"] = ((int)status.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            http.Response.Headers["grpc-message"] = Uri.EscapeDataString(status.Detail);
            return true;
        }
        if (exception is Jobs.ServiceBusyException)
        {
            http.Response.Headers.RetryAfter = Infrastructure.Data.DatabaseErrors.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (Infrastructure.Data.DatabaseErrors.IsTransient(exception))
        {
            logger.LogWarning("{Method} {Path}: database unavailable, answering 503 ({Error}: {Message}).",
                http.Request.Method, http.Request.Path, exception.GetBaseException().GetType().Name, exception.GetBaseException().Message);
            http.Response.Headers.RetryAfter = Infrastructure.Data.DatabaseErrors.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        ProblemDetails? problem = exception switch
        {
            _ when StorageErrors.IsDiskFull(exception) =>
                new ProblemDetails { Status = StatusCodes.Status507InsufficientStorage, Title = DiskFullTitle, Detail = DiskFullDetail },
            _ when Infrastructure.Data.DatabaseErrors.IsTransient(exception) =>
                new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Title = DatabaseUnavailableTitle, Detail = DatabaseUnavailableDetail },
            Jobs.ServiceBusyException busy => new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Title = "Service busy.", Detail = busy.Message },
            DomainValidationException v => ToValidationProblem(v.Errors),
            NotFoundException n => new ProblemDetails { Status = StatusCodes.Status404NotFound, Title = $"{n.Resource} not found.", Detail = n.Message },
            ConflictException c => new ProblemDetails { Status = StatusCodes.Status409Conflict, Title = "Conflict.", Detail = c.Message },
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } b =>
                new ProblemDetails { Status = StatusCodes.Status413PayloadTooLarge, Title = "Request body too large.", Detail = b.Message },
            BadHttpRequestException b => new ProblemDetails { Status = b.StatusCode, Title = "Bad request.", Detail = b.Message },
            InvalidDataException d => new ProblemDetails { Status = StatusCodes.Status400BadRequest, Title = "Malformed input.", Detail = d.Message },
            _ => null,
        };
        if (problem is null)
        {
            return false;
        }
        http.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception });
    }

    public static ValidationProblemDetails ToValidationProblem(IEnumerable<ValidationError> errors) =>
        new(errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()))
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "One or more fields are invalid.",
            Detail = string.Join(" ", errors.Select(e => $"{e.Field}: {e.Message}")),
        };
}
