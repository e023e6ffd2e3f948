using System.Diagnostics.CodeAnalysis;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Code = Google.Rpc.Code;
using RpcBadRequest = Google.Rpc.BadRequest;

namespace Api.Grpc;

/// <summary>
/// Throw helpers mapping failures to gRPC statuses the way <see cref="ErrorHandling.ProblemDetailsExceptionHandler"/>
/// maps them to HTTP: validation → INVALID_ARGUMENT with a <c>google.rpc.BadRequest</c> listing every field,
/// not found → NOT_FOUND, conflict → FAILED_PRECONDITION (ALREADY_EXISTS where a service says so),
/// too large or a full artifact store → RESOURCE_EXHAUSTED, an unreachable or busy database → UNAVAILABLE.
/// </summary>
internal static class GrpcErrors
{
    [DoesNotReturn]
    public static void ThrowInvalidArgument(IEnumerable<ValidationError> errors)
    {
        var badRequest = new RpcBadRequest();
        foreach (ValidationError error in errors)
        {
            badRequest.FieldViolations.Add(new RpcBadRequest.Types.FieldViolation { Field = error.Field, Description = error.Message });
        }
        throw new Google.Rpc.Status
        {
            Code = (int)Code.InvalidArgument,
            Message = "One or more fields are invalid. " + string.Join(" ", badRequest.FieldViolations.Select(v => $"{v.Field}: {v.Description}")),
            Details = { Any.Pack(badRequest) },
        }.ToRpcException();
    }

    [DoesNotReturn]
    public static void ThrowInvalidArgument(string field, string message) => ThrowInvalidArgument([new ValidationError(field, message)]);

    [DoesNotReturn]
    public static void ThrowNotFound(string message) => throw new RpcException(new global::Grpc.Core.Status(StatusCode.NotFound, message));

    [DoesNotReturn]
    public static void ThrowAlreadyExists(string message) => throw new RpcException(new global::Grpc.Core.Status(StatusCode.AlreadyExists, message));

    [DoesNotReturn]
    public static void ThrowFailedPrecondition(string message) => throw new RpcException(new global::Grpc.Core.Status(StatusCode.FailedPrecondition, message));

    /// <summary>Reason of the <c>google.rpc.ErrorInfo</c> on SelectVariant's OUT_OF_RANGE (training.proto).</summary>
    public const string NoVariantFitsReason = "NO_VARIANT_FITS_BUDGET";

    public const string ErrorDomain = "training.v1";

    /// <summary>
    /// REST's 422 "no variant fits the latency budget" as OUT_OF_RANGE with a <c>google.rpc.ErrorInfo</c> whose
    /// metadata carries the problem's extensions in snake_case (fastest_latency_ms, fastest_rank_fraction, measured).
    /// </summary>
    [DoesNotReturn]
    public static void ThrowNoVariantFits(ProblemDetails problem)
    {
        var info = new Google.Rpc.ErrorInfo { Reason = NoVariantFitsReason, Domain = ErrorDomain };
        foreach ((string key, string name) in new[]
        {
            ("fastestLatencyMs", "fastest_latency_ms"), ("fastestRankFraction", "fastest_rank_fraction"), ("measured", "measured"),
        })
        {
            if (problem.Extensions.TryGetValue(key, out object? value) && value is not null)
            {
                info.Metadata[name] = value switch
                {
                    bool b => b ? "true" : "false",
                    IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
                    _ => value.ToString() ?? "",
                };
            }
        }
        throw new Google.Rpc.Status
        {
            Code = (int)Code.OutOfRange,
            Message = $"{problem.Title} {problem.Detail}".Trim(),
            Details = { Any.Pack(info) },
        }.ToRpcException();
    }

    [DoesNotReturn]
    public static void ThrowResourceExhausted(string message) => throw new RpcException(new global::Grpc.Core.Status(StatusCode.ResourceExhausted, message));

    /// <summary>Whether a request is a gRPC call (its content type is <c>application/grpc</c> or a subtype).</summary>
    public static bool IsGrpcRequest(HttpContext http) =>
        http.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>
    /// The status of an infrastructure failure: a full artifact store → RESOURCE_EXHAUSTED, an unreachable or busy database →
    /// UNAVAILABLE (clients retry it); null for anything else.
    /// </summary>
    public static global::Grpc.Core.Status? ToStatus(Exception exception) =>
        Infrastructure.Artifacts.StorageErrors.IsDiskFull(exception)
            ? new(StatusCode.ResourceExhausted, ErrorHandling.ProblemDetailsExceptionHandler.DiskFullDetail)
            : Infrastructure.Data.DatabaseErrors.IsTransient(exception)
                ? new(StatusCode.Unavailable, ErrorHandling.ProblemDetailsExceptionHandler.DatabaseUnavailableDetail)
                : exception is Jobs.ServiceBusyException busy
                    ? new(StatusCode.Unavailable, busy.Message)
                    : null;

    /// <summary>Rethrows a domain, request or infrastructure failure as its <see cref="RpcException"/>; returns for anything else.</summary>
    public static void ThrowIfMapped(Exception exception)
    {
        if (ToStatus(exception) is { } status)
        {
            throw new RpcException(status);
        }
        switch (exception)
        {
            case DomainValidationException v:
                ThrowInvalidArgument(v.Errors);
                break;
            case NotFoundException n:
                ThrowNotFound(n.Message);
                break;
            case ConflictException c:
                ThrowFailedPrecondition(c.Message);
                break;
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } b:
                ThrowResourceExhausted(b.Message);
                break;
            case InvalidDataException d:
                ThrowInvalidArgument("body", d.Message);
                break;
        }
    }

    /// <summary>A request id field: a UUID string.</summary>
    public static Guid ParseId(string value, string field)
    {
        if (!Guid.TryParse(value, out Guid id))
        {
            ThrowInvalidArgument(field, string.IsNullOrEmpty(value) ? "is required." : $"must be a UUID (was '{value}').");
        }
        return id;
    }

    /// <summary>An optional id filter: empty means none.</summary>
    public static Guid? ParseOptionalId(string value, string field) => value.Length == 0 ? null : ParseId(value, field);
}

/// <summary>Applies <see cref="GrpcErrors.ThrowIfMapped"/> to every call, as the REST API's exception handler does.</summary>
internal sealed class DomainExceptionInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            GrpcErrors.ThrowIfMapped(ex);
            throw;
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            GrpcErrors.ThrowIfMapped(ex);
            throw;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            GrpcErrors.ThrowIfMapped(ex);
            throw;
        }
    }
}
