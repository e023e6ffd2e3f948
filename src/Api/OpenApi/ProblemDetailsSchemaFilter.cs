using Microsoft.AspNetCore.Http;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Api.OpenApi;

/// <summary>Describes the error bodies (<c>ProblemDetails</c>, RFC 9457, and its validation form), which are framework types without XML docs here.</summary>
internal sealed class ProblemDetailsSchemaFilter : ISchemaFilter
{
    private static readonly Dictionary<string, string> s_members = new(StringComparer.Ordinal)
    {
        ["type"] = "A URI reference that identifies the problem type (RFC 9457).",
        ["title"] = "A short summary of the problem type.",
        ["status"] = "The HTTP status code.",
        ["detail"] = "What went wrong in this occurrence, for a human reader.",
        ["instance"] = "A URI reference that identifies this occurrence.",
        ["errors"] = "Validation errors: the messages of each offending field, by its path (e.g. `training.epochs`).",
    };

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema { Properties: not null } concrete || !typeof(ProblemDetails).IsAssignableFrom(context.Type))
        {
            return;
        }
        concrete.Description ??= context.Type == typeof(HttpValidationProblemDetails)
            ? "A 400 for invalid input: ProblemDetails (RFC 9457) that names every offending field."
            : "An error (RFC 9457 ProblemDetails); some carry more members, e.g. a 422's `fastestLatencyMs`.";
        foreach ((string name, IOpenApiSchema property) in concrete.Properties)
        {
            if (property is OpenApiSchema member && member.Description is null && s_members.TryGetValue(name, out string? text))
            {
                member.Description = text;
            }
        }
    }
}
