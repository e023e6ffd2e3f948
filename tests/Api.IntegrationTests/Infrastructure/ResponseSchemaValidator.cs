using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace Api.IntegrationTests.Infrastructure;

/// <summary>One REST response as the server sent it: the endpoint's route template (e.g. <c>/api/v1/runs/{id:guid}</c>), status and body.</summary>
public sealed record RecordedResponse(string Method, string Route, int Status, string? ContentType, string Body)
{
    public override string ToString() => $"{Method} {Route} → {Status} {ContentType}";
}

/// <summary>
/// Checks response bodies against the schema that an OpenAPI 3.0 document declares for their operation, status and
/// media type, with JsonSchema.Net (draft 2020-12). The document's schemas are translated first: <c>nullable</c> becomes
/// a <c>"null"</c> type, boolean <c>exclusiveMinimum</c>/<c>exclusiveMaximum</c> become numbers and
/// <c>#/components/schemas/X</c> references point into <c>$defs</c>. A status or media type the document does not
/// declare for the operation is a mismatch too.
/// </summary>
public sealed partial class ResponseSchemaValidator
{
    private readonly Dictionary<string, JsonObject> _paths;
    private readonly JsonObject _defs;
    private readonly ConcurrentDictionary<string, JsonSchema> _schemas = new();
    private readonly EvaluationOptions _evaluation = new() { OutputFormat = OutputFormat.List };

    public ResponseSchemaValidator(JsonNode document)
    {
        _paths = document["paths"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.AsObject(), StringComparer.Ordinal);
        _defs = new JsonObject();
        foreach ((string name, JsonNode? schema) in document["components"]?["schemas"]?.AsObject() ?? [])
        {
            _defs[name] = Translate(schema!);
        }
    }

    /// <summary>The document's path for a route template: constraints, defaults and a trailing slash removed.</summary>
    public static string DocumentPath(string route)
    {
        string path = RouteParameter().Replace(route, m => $"{{{m.Groups[1].Value}}}");
        return path.Length > 1 ? path.TrimEnd('/') : path;
    }

    /// <summary>Every way <paramref name="response"/> disagrees with the document; empty when it conforms.</summary>
    public IReadOnlyList<string> Validate(RecordedResponse response)
    {
        string path = DocumentPath(response.Route);
        string method = response.Method.ToLowerInvariant();
        if (!_paths.TryGetValue(path, out JsonObject? item) || item[method] is not JsonObject operation)
        {
            return [$"{response}: the document has no operation {method.ToUpperInvariant()} {path}"];
        }
        JsonObject? responses = operation["responses"]?.AsObject();
        JsonNode? declared = responses?[response.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)]
            ?? responses?[$"{response.Status / 100}XX"] ?? responses?["default"];
        if (declared is null)
        {
            return [$"{response}: status {response.Status} is not declared (declared: {string.Join(", ", responses?.Select(r => r.Key) ?? [])})"];
        }
        if (response.Body.Length == 0)
        {
            return [];
        }
        string mediaType = (response.ContentType ?? "").Split(';')[0].Trim();
        JsonObject? content = declared["content"]?.AsObject();
        JsonNode? media = content?[mediaType];
        if (media is null)
        {
            return [$"{response}: media type '{mediaType}' is not declared for status {response.Status} (declared: {string.Join(", ", content?.Select(c => c.Key) ?? [])})"];
        }
        if (media["schema"] is not JsonNode schemaNode)
        {
            return [];
        }
        string key = $"{method} {path} {response.Status} {mediaType}";
        JsonSchema schema = _schemas.GetOrAdd(key, _ => Build(schemaNode));
        JsonElement body;
        try
        {
            body = JsonDocument.Parse(response.Body).RootElement;
        }
        catch (JsonException ex)
        {
            return [$"{response}: the body is not JSON ({ex.Message})"];
        }
        EvaluationResults results = schema.Evaluate(body, _evaluation);
        if (results.IsValid)
        {
            return [];
        }
        var errors = (results.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{response}: at '{d.InstanceLocation}' ({d.EvaluationPath}): {e.Key}: {e.Value}"))
            .Distinct()
            .ToList();
        return errors.Count > 0 ? errors : [$"{response}: does not match its schema"];
    }

    private JsonSchema Build(JsonNode schemaNode)
    {
        JsonObject root = Translate(schemaNode) is JsonObject translated ? translated : new JsonObject { ["allOf"] = new JsonArray(Translate(schemaNode)) };
        root["$schema"] = "https://json-schema.org/draft/2020-12/schema";
        root["$defs"] = _defs.DeepClone();
        // Each schema gets its own registry and base URI, so building one never clashes with another.
        return JsonSchema.FromText(root.ToJsonString(), new BuildOptions { SchemaRegistry = new SchemaRegistry() },
            new Uri($"https://schemas.test/{Guid.NewGuid():N}"));
    }

    /// <summary>An OpenAPI 3.0 schema object as JSON Schema draft 2020-12.</summary>
    public static JsonNode Translate(JsonNode node)
    {
        switch (node)
        {
            case JsonArray array:
                return new JsonArray(array.Select(n => n is null ? null : Translate(n)).ToArray());
            case JsonObject source:
                var result = new JsonObject();
                foreach ((string name, JsonNode? value) in source)
                {
                    switch (name)
                    {
                        case "nullable" or "example" or "exclusiveMinimum" or "exclusiveMaximum":
                            break;
                        case "$ref" when value!.GetValue<string>().StartsWith("#/components/schemas/", StringComparison.Ordinal):
                            result[name] = "#/$defs/" + value.GetValue<string>()["#/components/schemas/".Length..];
                            break;
                        case "properties" or "$defs":
                            result[name] = new JsonObject(value!.AsObject().Select(p => KeyValuePair.Create(p.Key, (JsonNode?)Translate(p.Value!))));
                            break;
                        case "enum" or "required" or "default":
                            result[name] = value?.DeepClone();
                            break;
                        default:
                            result[name] = value is JsonObject or JsonArray ? Translate(value) : value?.DeepClone();
                            break;
                    }
                }
                MoveExclusive(source, result, "exclusiveMinimum", "minimum");
                MoveExclusive(source, result, "exclusiveMaximum", "maximum");
                if (source["nullable"]?.GetValue<bool>() == true)
                {
                    return AllowNull(result);
                }
                return result;
            default:
                return node.DeepClone();
        }
    }

    private static void MoveExclusive(JsonObject source, JsonObject result, string exclusive, string bound)
    {
        if (source[exclusive]?.GetValue<bool>() == true && result[bound] is JsonNode value)
        {
            result.Remove(bound);
            result[exclusive] = value.DeepClone();
        }
    }

    private static JsonObject AllowNull(JsonObject schema)
    {
        if (schema["type"] is JsonValue type && schema["enum"] is null)
        {
            schema["type"] = new JsonArray(type.GetValue<string>(), "null");
            return schema;
        }
        return new JsonObject { ["anyOf"] = new JsonArray(schema, new JsonObject { ["type"] = "null" }) };
    }

    [GeneratedRegex(@"\{\*{0,2}([^}:=?]+)[^}]*\}")]
    private static partial Regex RouteParameter();
}
