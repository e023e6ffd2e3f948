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

    /// <summary>
    /// The fastest variant's latency (milliseconds) carried by SelectVariant's <see cref="StatusCode.OutOfRange"/>
    /// ("no variant fits the latency budget", a <c>google.rpc.ErrorInfo</c> with metadata <c>fastest_latency_ms</c>);
    /// null for any other error.
    /// </summary>
    public static double? FastestLatencyMs(this RpcException exception) => ErrorMetadata(exception, "fastest_latency_ms");

    /// <summary>The fastest variant's rank fraction carried by the same error as <see cref="FastestLatencyMs"/>; null otherwise.</summary>
    public static double? FastestRankFraction(this RpcException exception) => ErrorMetadata(exception, "fastest_rank_fraction");

    private static double? ErrorMetadata(RpcException exception, string key)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ErrorInfo? info = exception.GetRpcStatus()?.GetDetail<ErrorInfo>();
        return info is not null && info.Metadata.TryGetValue(key, out string? value)
            && double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double parsed)
            ? parsed : null;
    }
}
