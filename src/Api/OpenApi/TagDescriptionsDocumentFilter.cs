using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Api.OpenApi;

/// <summary>Describes each tag the endpoint groups use (<c>WithTags</c>), in the order a new user meets them.</summary>
internal sealed class TagDescriptionsDocumentFilter : IDocumentFilter
{
    private static readonly (string Name, string Description)[] s_tags =
    [
        ("Datasets", "Upload IDX, IDX-archive, CSV or image-folder data (converted to IDX, deduplicated per tenant) and read their summaries and previews."),
        ("Jobs", "Submit a job spec (202 + Location, idempotent with Idempotency-Key), follow its progress, list and cancel jobs."),
        ("Runs", "A job's trainings: per-epoch metrics, the shipped model and the accuracy-versus-rank curve."),
        ("Variants", "The network cut at each rank fraction, exported as ONNX and TorchSharp weights, timed per device; pick the best one within a latency budget."),
        ("Devices", "Built-in host profiles (the workers' own measurements) and your tenant's devices with latencies you timed there."),
        ("Tenants", "Who a key belongs to; tenants and their API keys. Every key has a role: `Member` keys manage nothing, "
            + "`TenantAdmin` keys list, create (`Member` or `TenantAdmin`) and revoke the keys of their own tenant, `ServiceAdmin` "
            + "keys (the bootstrap key) also create and list tenants and manage every tenant's keys. A tenant admin asking about "
            + "another tenant gets 404."),
        ("Workers", "The training workers, what they run and when they were last seen (TenantAdmin and ServiceAdmin keys)."),
    ];

    public void Apply(OpenApiDocument swaggerDoc, DocumentFilterContext context)
    {
        swaggerDoc.Tags ??= new HashSet<OpenApiTag>();
        HashSet<string> used = swaggerDoc.Tags.Select(t => t.Name).OfType<string>().ToHashSet(StringComparer.Ordinal);
        swaggerDoc.Tags.Clear();
        foreach ((string name, string description) in s_tags)
        {
            swaggerDoc.Tags.Add(new OpenApiTag { Name = name, Description = description });
            used.Remove(name);
        }
        // A new group without a description here still appears; OpenApiTests names it.
        foreach (string name in used.Order(StringComparer.Ordinal))
        {
            swaggerDoc.Tags.Add(new OpenApiTag { Name = name });
        }
    }
}
