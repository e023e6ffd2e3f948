using System.Text.Json.Nodes;
using Api.Datasets;
using Api.Runs;
using Api.Variants;
using Api.Workers;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Api.OpenApi;

/// <summary>
/// Declares as an <c>enum</c> each string property and query parameter that takes one of a closed set of values, with the
/// values from the Domain's own constant lists (e.g. <see cref="Schedules.All"/>), the same lists the validation uses.
/// </summary>
internal sealed class ClosedSetsFilter : ISchemaFilter, IOperationFilter
{
    private static readonly Dictionary<(Type Type, string Property), string[]> s_properties = new()
    {
        [(typeof(ModelSpec), "kind")] = ModelKinds.All,
        [(typeof(TrainingSpec), "optimizer")] = Optimizers.All,
        [(typeof(TrainingSpec), "schedule")] = Schedules.All,
        [(typeof(TrainingSpec), "modelSelection")] = ModelSelections.All,
        [(typeof(MaestroSpec), "sampling")] = MaestroSampling.All,
        [(typeof(NoiseSpec), "kind")] = NoiseKinds.All,
        [(typeof(DatasetResponse), "format")] = DatasetFormats.All,
        [(typeof(RunResponse), "modelSelection")] = ModelSelections.All,
        [(typeof(LatencyResponse), "source")] = LatencySources.All,
        [(typeof(WorkerResponse), "status")] = [WorkerService.Busy, WorkerService.Idle],
    };

    /// <summary>Query parameters by operation (endpoint name) and parameter name.</summary>
    private static readonly Dictionary<(string Operation, string Parameter), string[]> s_parameters = new()
    {
        [("DownloadVariant", "format")] = VariantFormats.All,
    };

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema.Properties is null)
        {
            return;
        }
        foreach ((string name, IOpenApiSchema property) in schema.Properties)
        {
            if (property is OpenApiSchema concrete && s_properties.TryGetValue((context.Type, name), out string[]? values))
            {
                concrete.Enum = values.Select(v => (JsonNode)JsonValue.Create(v)).ToList();
            }
        }
    }

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        string? endpoint = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<IEndpointNameMetadata>().FirstOrDefault()?.EndpointName;
        foreach (IOpenApiParameter parameter in operation.Parameters ?? [])
        {
            if (endpoint is not null && parameter is OpenApiParameter { Schema: OpenApiSchema schema, Name: string name }
                && s_parameters.TryGetValue((endpoint, name), out string[]? values))
            {
                schema.Enum = values.Select(v => (JsonNode)JsonValue.Create(v)).ToList();
            }
        }
    }
}
