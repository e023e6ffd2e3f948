using Microsoft.AspNetCore.Diagnostics;

namespace Api.ErrorHandling;

/// <summary>
/// Maps domain exceptions to RFC 7807 responses: validation → 400 with every field and reason,
/// not found → 404, conflict → 409, oversized body → 413, malformed request → 400. Anything else is a 500.
/// </summary>
internal sealed class ProblemDetailsExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails? problem = exception switch
        {
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
