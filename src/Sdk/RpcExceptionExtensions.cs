using Google.Rpc;

namespace TrainingService.Sdk;

/// <summary>Reads the rich error details the service attaches to its errors.</summary>
public static class RpcExceptionExtensions
{
    /// <summary>
    /// The invalid fields of an <see cref="StatusCode.InvalidArgument"/> error (a <c>google.rpc.BadRequest</c>
    /// detail), named as in the REST API's ValidationProblemDetails, e.g. <c>training.epochs</c>; empty otherwise.
    /// </summary>
    public static IReadOnlyList<BadRequest.Types.FieldViolation> FieldViolations(this RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.ToList() ?? [];
    }
}
