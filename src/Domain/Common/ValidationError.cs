namespace Domain.Common;

/// <summary>One violated rule: <paramref name="Field"/> is the JSON path of the offending value (e.g. <c>training.epochs</c>).</summary>
public sealed record ValidationError(string Field, string Message);

/// <summary>Thrown when input breaks one or more rules; the Api maps it to a 400 ValidationProblemDetails.</summary>
public sealed class DomainValidationException(IReadOnlyList<ValidationError> errors)
    : Exception(errors.Count == 0 ? "Validation failed." : $"{errors[0].Field}: {errors[0].Message}")
{
    public IReadOnlyList<ValidationError> Errors { get; } = errors;

    public DomainValidationException(string field, string message) : this([new ValidationError(field, message)])
    {
    }
}

/// <summary>Thrown when a referenced resource does not exist; the Api maps it to 404.</summary>
public sealed class NotFoundException(string resource, object id) : Exception($"{resource} '{id}' was not found.")
{
    public string Resource { get; } = resource;
}

/// <summary>Thrown when a request conflicts with the resource's state; the Api maps it to 409.</summary>
public sealed class ConflictException(string message) : Exception(message);
