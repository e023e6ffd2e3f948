using System.Reflection;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Api.OpenApi;

/// <summary>
/// Marks as <c>required</c> every non-nullable property of the Api's response types (those not named <c>…Request</c>):
/// the API omits only null values, so a client can rely on the others being present. Request types and the job spec
/// keep their properties optional, since omitted fields take their defaults.
/// </summary>
internal sealed class ResponseRequiredSchemaFilter : ISchemaFilter
{
    private readonly NullabilityInfoContext _nullability = new();

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        Type type = context.Type;
        if (schema is not OpenApiSchema { Properties: { Count: > 0 } properties } concrete || type.Assembly != typeof(ResponseRequiredSchemaFilter).Assembly
            || type.Name.EndsWith("Request", StringComparison.Ordinal))
        {
            return;
        }
        foreach (PropertyInfo property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            string name = System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            if (properties.ContainsKey(name) && _nullability.Create(property).ReadState == NullabilityState.NotNull)
            {
                concrete.Required ??= new HashSet<string>();
                concrete.Required.Add(name);
            }
        }
    }
}
