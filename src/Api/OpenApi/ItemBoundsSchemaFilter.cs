using System.Globalization;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Api.OpenApi;

/// <summary>
/// Bounds on the items of the job spec's lists (a layer width, a channel count, a rank fraction), which attributes on the
/// list property cannot express; the same limits the spec's validation applies to each item.
/// </summary>
internal sealed class ItemBoundsSchemaFilter : ISchemaFilter
{
    private static readonly Dictionary<(Type Type, string Property), (double Minimum, double Maximum, bool MinimumExclusive)> s_items = new()
    {
        [(typeof(ModelSpec), "hidden")] = (1, ModelSpec.MaxLayerWidth, false),
        [(typeof(ModelSpec), "channels")] = (1, ModelSpec.MaxChannels, false),
        [(typeof(SweepSpec), "rankFractions")] = (0, 1, true),
    };

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        foreach ((string name, IOpenApiSchema property) in schema.Properties ?? new Dictionary<string, IOpenApiSchema>())
        {
            if (property is OpenApiSchema { Items: OpenApiSchema items } && s_items.TryGetValue((context.Type, name), out var bounds))
            {
                string minimum = bounds.Minimum.ToString(CultureInfo.InvariantCulture);
                // An exclusive bound is the value of exclusiveMinimum; OpenAPI 3.0 output writes it as minimum + exclusiveMinimum: true.
                if (bounds.MinimumExclusive)
                {
                    items.ExclusiveMinimum = minimum;
                }
                else
                {
                    items.Minimum = minimum;
                }
                items.Maximum = bounds.Maximum.ToString(CultureInfo.InvariantCulture);
            }
        }
    }
}
