using System.ComponentModel;
using System.Reflection;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Api.OpenApi;

/// <summary>
/// Gives a schema the <see cref="DescriptionAttribute"/> of its type (e.g. a job-spec section such as <c>ElrSpec</c>
/// citing its paper). Swashbuckle reads property-level descriptions itself, but a property whose type is a schema of
/// its own is a bare <c>$ref</c> in OpenAPI 3.0, so the section's text has to live on the referenced schema.
/// </summary>
internal sealed class TypeDescriptionSchemaFilter : ISchemaFilter
{
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is OpenApiSchema concrete && concrete.Description is null
            && context.Type.GetCustomAttribute<DescriptionAttribute>() is { } description)
        {
            concrete.Description = description.Description;
        }
    }
}
