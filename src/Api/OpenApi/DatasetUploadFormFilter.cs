using System.Text.Json.Nodes;
using Api.Datasets;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Api.OpenApi;

/// <summary>
/// The dataset upload reads its multipart form by hand (<see cref="DatasetUploadService"/>), so the API explorer sees only
/// a binary body; this declares the form's fields, with the formats, bounds and file fields the upload checks.
/// </summary>
internal sealed class DatasetUploadFormFilter(IOptions<DatasetLimitsOptions> limits) : IOperationFilter
{
    private const string Multipart = "multipart/form-data";

    private static readonly Dictionary<string, string> s_files = new(StringComparer.Ordinal)
    {
        ["images"] = "`idx`: training images, an IDX file (raw or gzip).",
        ["labels"] = "`idx`: training labels, an IDX file (raw or gzip).",
        ["testImages"] = "`idx`, optional: test images; with testLabels.",
        ["testLabels"] = "`idx`, optional: test labels; with testImages.",
        ["archive"] = "`idx`: the four MNIST-named files in one ZIP, instead of the separate files; `zip`: one folder of PNG/JPEG images per class, optionally under train/ and test/.",
        ["data"] = "`csv`: the training rows (feature columns and one label column).",
        ["testData"] = "`csv`, optional: test rows with the same columns.",
    };

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        string? endpoint = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<IEndpointNameMetadata>().FirstOrDefault()?.EndpointName;
        if (endpoint != "CreateDataset" || operation.RequestBody?.Content?.TryGetValue(Multipart, out OpenApiMediaType? media) != true || media is null)
        {
            return;
        }
        int maxSide = limits.Value.MaxImageSide;
        var properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
        {
            ["name"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String, MinLength = 1, MaxLength = DatasetUploadService.MaxNameLength,
                Description = "Required: the dataset's name.",
            },
            ["format"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String, Enum = DatasetFormats.All.Select(f => (JsonNode)JsonValue.Create(f)).ToList(),
                Default = JsonValue.Create(DatasetFormats.Idx), Description = "The upload format; `csv` and `zip` are converted to IDX at upload.",
            },
        };
        foreach (string file in DatasetUploadService.FileFields)
        {
            properties[file] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = s_files.GetValueOrDefault(file) };
        }
        properties["labelColumn"] = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Description = "`csv`, optional: the label column's name or 0-based index (default: a header column named label, class or target, else column 0).",
        };
        properties["hasHeader"] = new OpenApiSchema { Type = JsonSchemaType.Boolean, Description = "`csv`, optional: whether the first row is a header (detected by default)." };
        foreach (string side in new[] { "width", "height" })
        {
            properties[side] = new OpenApiSchema
            {
                Type = JsonSchemaType.Integer, Minimum = "1", Maximum = maxSide.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Description = $"`zip`: the image {side} every image is resized to (Datasets:Limits:MaxImageSide).",
            };
        }
        properties["channels"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Integer, Enum = [JsonValue.Create(1), JsonValue.Create(3)], Default = JsonValue.Create(1),
            Description = "`zip`: 1 (grey) or 3 (RGB).",
        };
        media.Schema = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Required = new HashSet<string> { "name" },
            Properties = properties,
        };
    }
}
