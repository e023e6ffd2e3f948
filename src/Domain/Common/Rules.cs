namespace Domain.Common;

/// <summary>Small helpers that collect <see cref="ValidationError"/>s without throwing, so every violation is reported at once.</summary>
public sealed class Rules
{
    private readonly List<ValidationError> _errors = [];

    public IReadOnlyList<ValidationError> Errors => _errors;

    public bool IsValid => _errors.Count == 0;

    public Rules Add(string field, string message)
    {
        _errors.Add(new ValidationError(field, message));
        return this;
    }

    public Rules Range(string field, int value, int min, int max) =>
        value < min || value > max ? Add(field, $"must be between {min} and {max} (was {value}).") : this;

    public Rules Range(string field, double value, double min, double max, bool minExclusive = false, bool maxExclusive = false)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            return Add(field, "must be a finite number.");
        }
        bool below = minExclusive ? value <= min : value < min;
        bool above = maxExclusive ? value >= max : value > max;
        if (below || above)
        {
            string lower = minExclusive ? $"greater than {min}" : $"at least {min}";
            string upper = maxExclusive ? $"less than {max}" : $"at most {max}";
            return Add(field, $"must be {lower} and {upper} (was {value}).");
        }
        return this;
    }

    public Rules OneOf(string field, string? value, params string[] allowed) =>
        value is null || !allowed.Contains(value, StringComparer.Ordinal)
            ? Add(field, $"must be one of: {string.Join(", ", allowed)} (was '{value ?? "null"}').")
            : this;

    public void ThrowIfInvalid()
    {
        if (!IsValid)
        {
            throw new DomainValidationException(_errors);
        }
    }
}
