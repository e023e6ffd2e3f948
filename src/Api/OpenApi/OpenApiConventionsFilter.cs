using System.Text.Json.Nodes;
using Api.Auth;
using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Api.OpenApi;

/// <summary>
/// Adds to every operation: its request and response examples (<see cref="OpenApiExamples"/>), the 401 every
/// keyed operation can answer (403 for operations that need a role), the 503 every operation answers while the
/// database is down, and examples on its documented error responses.
/// </summary>
internal sealed class OpenApiConventionsFilter : IOperationFilter
{
    private const string ProblemJson = "application/problem+json";

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        IList<object> metadata = context.ApiDescription.ActionDescriptor.EndpointMetadata;
        string? name = metadata.OfType<IEndpointNameMetadata>().FirstOrDefault()?.EndpointName;
        operation.Responses ??= [];

        if (!metadata.OfType<IAllowAnonymous>().Any())
        {
            AddProblem(operation, "401", "No API key, or an unknown or revoked one (send it in the X-Api-Key header).");
        }
        if (metadata.OfType<IAuthorizeData>().Any(a => a.Policy == ApiKeyClaims.ServiceAdminPolicy))
        {
            AddProblem(operation, "403", "The key's role is not ServiceAdmin.");
        }
        else if (metadata.OfType<IAuthorizeData>().Any(a => a.Policy == ApiKeyClaims.TenantAdminPolicy))
        {
            AddProblem(operation, "403", "The key's role is Member (TenantAdmin or ServiceAdmin needed), or the operation needs a higher role than the key's.");
        }

        // Every operation reads the database (if only for the API key) and answers 503 while it is unreachable.
        AddProblem(operation, "503", "The database is unreachable or busy; nothing was changed. Retry after the seconds in Retry-After.");
        // Every operation runs under a request timeout (Api:RequestTimeout, uploads and downloads Api:UploadRequestTimeout).
        AddProblem(operation, "504", "The request ran past its timeout (Api:RequestTimeout, or Api:UploadRequestTimeout for uploads and model downloads) and was stopped.");
        foreach (string status in new[] { "503", "429" })
        {
            if (operation.Responses.TryGetValue(status, out IOpenApiResponse? retry) && retry is OpenApiResponse withHeaders)
            {
                withHeaders.Headers ??= new Dictionary<string, IOpenApiHeader>();
                withHeaders.Headers["Retry-After"] = new OpenApiHeader
                {
                    Description = "Seconds to wait before retrying.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.Integer },
                };
            }
        }

        if (name is not null && OpenApiExamples.Requests.TryGetValue(name, out JsonNode? request) && operation.RequestBody?.Content is { } requestContent)
        {
            foreach (OpenApiMediaType media in requestContent.Values.OfType<OpenApiMediaType>())
            {
                media.Example = request.DeepClone();
            }
        }
        foreach ((string status, IOpenApiResponse response) in operation.Responses)
        {
            if (response.Content is null)
            {
                continue;
            }
            JsonNode? example = status.StartsWith('2') && name is not null && OpenApiExamples.Responses.TryGetValue(name, out JsonNode? ok) ? ok
                : OpenApiExamples.Problems.GetValueOrDefault(status);
            foreach ((string type, OpenApiMediaType media) in response.Content.Where(c => c.Value is not null).Select(c => (c.Key, (OpenApiMediaType)c.Value)))
            {
                if (example is not null && type.Contains("json", StringComparison.Ordinal))
                {
                    media.Example = example.DeepClone();
                }
            }
        }
    }

    private static void AddProblem(OpenApiOperation operation, string status, string description)
    {
        if (operation.Responses!.ContainsKey(status))
        {
            return;
        }
        operation.Responses[status] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                [ProblemJson] = new() { Example = OpenApiExamples.Problems[status].DeepClone() },
            },
        };
    }
}
