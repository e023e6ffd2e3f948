using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Api.OpenApi;

/// <summary>
/// Describes the path, query and header parameters that recur across operations (ids, paging, status and device filters),
/// so every parameter of the document says what it does; a parameter's own <c>[Description]</c> wins.
/// </summary>
internal sealed class ParameterDescriptionsFilter : IOperationFilter
{
    private static readonly Dictionary<string, string> s_descriptions = new(StringComparer.Ordinal)
    {
        ["offset"] = "Items to skip (0 or more).",
        ["limit"] = "Most items to return, 1..500.",
        ["status"] = "Only items in this status.",
        ["jobId"] = "Only runs of this job.",
        ["datasetId"] = "Only jobs on this dataset.",
        ["device"] = "A device profile's name (GET /api/v1/devices); without it, every device with measurements.",
        ["batch"] = "The batch size the latencies are for, 1..4096.",
        ["latencyBudgetMs"] = "Required: the most milliseconds one forward pass of the batch may take.",
        ["fraction"] = "The variant's rank fraction, as in its links (one of the run's curve points).",
        ["format"] = "`onnx` (default) or `torchsharp` weights.",
        ["name"] = "The device profile's name.",
        ["keyId"] = "The API key's id.",
        ["Idempotency-Key"] = "Optional: a retried POST with the same key and body returns the first job (200); the same key with another body is a 409.",
    };

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        foreach (OpenApiParameter parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>())
        {
            if (parameter.Description is not null || parameter.Name is null)
            {
                continue;
            }
            parameter.Description = parameter.Name == "id"
                ? $"The {Resource(context.ApiDescription.RelativePath)}'s id."
                : s_descriptions.GetValueOrDefault(parameter.Name);
        }
    }

    /// <summary>The resource an <c>{id}</c> names: the path segment before it, singular (<c>runs/{id}</c> → run).</summary>
    private static string Resource(string? path)
    {
        string[] segments = (path ?? "").Split('/');
        int index = Array.FindIndex(segments, s => s.StartsWith("{id", StringComparison.Ordinal));
        string resource = index > 0 ? segments[index - 1] : "resource";
        return resource.EndsWith('s') ? resource[..^1] : resource;
    }
}
