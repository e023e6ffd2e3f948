using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Domain.Jobs;

/// <summary>
/// The one JSON form of a <see cref="JobSpec"/>, shared by the Api (request bodies and stored specs), the Worker,
/// the SDK and the engine: camelCase web defaults, nulls left out on write, and strict on read (a member the spec
/// does not have is an error, so a misspelt field never silently falls back to its default).
/// Use <see cref="JobSpec.Parse"/> and <see cref="JobSpec.ToJson"/> rather than these options directly.
/// </summary>
public static class JobSpecJson
{
    /// <summary>The serializer options of the job spec; read-only.</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        };
        options.MakeReadOnly();
        return options;
    }
}
