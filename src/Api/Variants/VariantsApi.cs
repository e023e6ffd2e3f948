using System.ComponentModel.DataAnnotations;
using Infrastructure.Artifacts;
using Microsoft.Net.Http.Headers;

namespace Api.Variants;

/// <summary>A variant's latency on one device.</summary>
/// <param name="Device">The device profile.</param>
/// <param name="Batch">The batch size it applies to.</param>
/// <param name="Ms">Median milliseconds of one forward pass of the batch.</param>
/// <param name="P90Ms">90th percentile, when measured.</param>
/// <param name="Measured">True when timed on the device, false when estimated.</param>
/// <param name="Source"><c>measured</c> or <c>estimated</c> (FLOPs × the device's fitted calibration).</param>
/// <param name="Runtime">The runtime that timed it, e.g. <c>onnxruntime-cpu</c>; absent for estimates.</param>
public sealed record LatencyResponse(string Device, int Batch, double Ms, double? P90Ms, bool Measured, string Source, string? Runtime);

/// <summary>Values of <see cref="LatencyResponse.Source"/>.</summary>
public static class LatencySources
{
    /// <summary>Timed on the device (a worker's ONNX Runtime run, or latencies posted for a user's device).</summary>
    public const string Measured = "measured";

    /// <summary>FLOPs × a calibration fitted on the device's measurements.</summary>
    public const string Estimated = "estimated";

    public static readonly string[] All = [Measured, Estimated];
}

/// <summary>Where to download a variant.</summary>
/// <param name="Onnx">The ONNX model (IR 8, opset 17; input <c>input</c>, output <c>logits</c>).</param>
/// <param name="TorchSharp">The TorchSharp weights.</param>
public sealed record VariantLinks(string Onnx, string TorchSharp);

/// <summary>The shipped network cut at one rank fraction, with its accuracy, latency and downloads.</summary>
/// <param name="RankFraction">The share of every factorised layer's rank kept, in (0, 1].</param>
/// <param name="Ranks">The rank each factorised layer keeps.</param>
/// <param name="Parameters">Parameters of the variant.</param>
/// <param name="Flops">Multiply-adds of one forward pass of one sample.</param>
/// <param name="Accuracy">Test accuracy.</param>
/// <param name="Latency">Latency on the requested device and batch.</param>
/// <param name="Links">Download links.</param>
public sealed record VariantResponse(
    double RankFraction, int[] Ranks, long Parameters, long Flops, double Accuracy, LatencyResponse Latency, VariantLinks Links);

/// <summary>A run's variants priced on one device.</summary>
/// <param name="Device">The device profile.</param>
/// <param name="Batch">The batch size of the latencies.</param>
/// <param name="Frontier">The Pareto frontier: variants no other variant beats on both latency and accuracy, fastest first.</param>
/// <param name="Variants">Every variant, by rank fraction.</param>
public sealed record DeviceFrontierResponse(string Device, int Batch, IReadOnlyList<VariantResponse> Frontier, IReadOnlyList<VariantResponse> Variants);

/// <summary>A run's variants per device.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Devices">One entry per device asked for (all measured devices when none was named).</param>
public sealed record VariantsResponse(Guid RunId, IReadOnlyList<DeviceFrontierResponse> Devices);

/// <summary>The most accurate variant within a latency budget.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Device">The device profile.</param>
/// <param name="Batch">The batch size of the budget.</param>
/// <param name="LatencyBudgetMs">The budget in milliseconds.</param>
/// <param name="Variant">The chosen variant.</param>
public sealed record SelectionResponse(Guid RunId, string Device, int Batch, double LatencyBudgetMs, VariantResponse Variant);

public static class VariantsApi
{
    public static RouteGroupBuilder MapVariantsApi(this RouteGroupBuilder api)
    {
        RouteGroupBuilder group = api.MapGroup("/runs/{id:guid}/variants").WithTags("Variants");
        group.MapGet("/", ListAsync).WithName("ListVariants")
            .WithSummary("The accuracy–latency Pareto frontier of a run's variants, per device")
            .WithDescription("Without `device`, every device with measurements for this run. Latencies are measured where the device has them, otherwise estimated from FLOPs with the device's calibration; each says which.")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/select", SelectAsync).WithName("SelectVariant")
            .WithSummary("The most accurate variant that fits a latency budget on a device")
            .WithDescription("Ties go to fewer parameters. 422 when no variant fits, with the fastest variant's latency.")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        // A model file to a slow client may take longer than an ordinary request: the upload timeout applies.
        group.MapGet("/{fraction:double}/model", DownloadAsync).WithName("DownloadVariant")
            .WithMetadata(new Microsoft.AspNetCore.Http.Timeouts.RequestTimeoutAttribute(Api.Extensions.RequestLimits.UploadTimeoutPolicy))
            .WithSummary("Download a variant as ONNX or TorchSharp weights (ETag = sha256, range requests)")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .Produces(StatusCodes.Status206PartialContent, contentType: "application/octet-stream")
            .Produces(StatusCodes.Status304NotModified)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status416RangeNotSatisfiable);
        return group;
    }

    public static async Task<Ok<VariantsResponse>> ListAsync(
        Guid id, VariantCatalog catalog, CancellationToken cancellationToken, string? device = null, [Range(1, VariantCatalog.MaxBatch)] int batch = 1)
    {
        CheckBatch(batch);
        Run run = await catalog.FinishedRunAsync(id, cancellationToken);
        List<DeviceProfile> devices = device is null
            ? await catalog.MeasuredDevicesAsync(id, cancellationToken)
            : [await catalog.DeviceAsync(device, cancellationToken)];
        var result = new List<DeviceFrontierResponse>();
        foreach (DeviceProfile profile in devices)
        {
            DeviceVariants priced = await catalog.PriceAsync(run, profile, batch, cancellationToken);
            IReadOnlyList<VariantCandidate> frontier = VariantSelector.Frontier(priced.Variants.Select(v => v.Candidate));
            result.Add(new DeviceFrontierResponse(profile.Name, batch,
                frontier.Select(f => ToResponse(run.Id, profile, batch, priced.Variants.First(v => v.Candidate == f))).ToList(),
                priced.Variants.Select(v => ToResponse(run.Id, profile, batch, v)).ToList()));
        }
        return TypedResults.Ok(new VariantsResponse(run.Id, result));
    }

    public static async Task<Results<Ok<SelectionResponse>, ProblemHttpResult>> SelectAsync(
        Guid id, VariantCatalog catalog, CancellationToken cancellationToken, string? device = null, [Range(0, 3_600_000, MinimumIsExclusive = true)] double? latencyBudgetMs = null, [Range(1, VariantCatalog.MaxBatch)] int batch = 1)
    {
        var rules = new Rules();
        DeviceProfile.ValidateName(rules, "device", device);
        if (latencyBudgetMs is null)
        {
            rules.Add("latencyBudgetMs", "is required.");
        }
        else
        {
            rules.Range("latencyBudgetMs", latencyBudgetMs.Value, 0, 3_600_000, minExclusive: true);
        }
        rules.Range("batch", batch, 1, VariantCatalog.MaxBatch);
        rules.ThrowIfInvalid();

        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        DeviceVariants priced = await catalog.PriceFinishedAsync(id, device!, batch, cancellationToken);
        DeviceProfile profile = priced.Device;
        VariantCandidate? chosen = VariantSelector.Select(priced.Variants.Select(v => v.Candidate), latencyBudgetMs!.Value);
        Infrastructure.Observability.ServiceTelemetry.SelectionDuration.Record(
            System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds,
            new KeyValuePair<string, object?>("tas.selection.outcome", chosen is null ? "none" : "selected"));
        if (chosen is null)
        {
            VariantCandidate? fastest = VariantSelector.Fastest(priced.Variants.Select(v => v.Candidate));
            return TypedResults.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity,
                title: "No variant fits the latency budget.",
                detail: fastest is null
                    ? $"Run {id} has no priced variants on '{profile.Name}'."
                    : $"The fastest variant (rank fraction {fastest.RankFraction}) takes {fastest.LatencyMs:F3} ms on '{profile.Name}' at batch {batch}; the budget is {latencyBudgetMs} ms.",
                extensions: new Dictionary<string, object?>
                {
                    ["fastestLatencyMs"] = fastest?.LatencyMs,
                    ["fastestRankFraction"] = fastest?.RankFraction,
                    ["measured"] = fastest?.Measured,
                });
        }
        PricedVariant variant = priced.Variants.First(v => v.Candidate == chosen);
        return TypedResults.Ok(new SelectionResponse(id, profile.Name, batch, latencyBudgetMs.Value, ToResponse(id, profile, batch, variant)));
    }

    public static async Task<IResult> DownloadAsync(
        Guid id, double fraction, VariantCatalog catalog, IArtifactStore store, CancellationToken cancellationToken, string format = VariantFormats.Onnx)
    {
        var rules = new Rules();
        rules.OneOf("format", format, VariantFormats.All);
        rules.ThrowIfInvalid();
        Run run = await catalog.FinishedRunAsync(id, cancellationToken);
        Artifact file = await catalog.VariantFileAsync(run, fraction, format, cancellationToken);
        string extension = format == VariantFormats.Onnx ? "onnx" : "bin";
        return TypedResults.Stream(
            store.OpenRead(file.Path),
            "application/octet-stream",
            $"run-{run.Id:N}-rank-{fraction.ToString(System.Globalization.CultureInfo.InvariantCulture)}.{extension}",
            new DateTimeOffset(file.CreatedAt, TimeSpan.Zero),
            new EntityTagHeaderValue($"\"{file.Sha256}\""),
            enableRangeProcessing: true);
    }

    private static void CheckBatch(int batch)
    {
        var rules = new Rules();
        rules.Range("batch", batch, 1, VariantCatalog.MaxBatch);
        rules.ThrowIfInvalid();
    }

    private static VariantResponse ToResponse(Guid runId, DeviceProfile device, int batch, PricedVariant v)
    {
        string fraction = v.Point.RankFraction.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        string model = $"/api/v1/runs/{runId}/variants/{fraction}/model";
        return new VariantResponse(
            v.Point.RankFraction, v.Point.Ranks, v.Point.Parameters, v.Point.Flops, v.Point.Accuracy,
            new LatencyResponse(device.Name, batch, v.Candidate.LatencyMs, v.Measurement?.P90Ms, v.Candidate.Measured,
                v.Candidate.Measured ? LatencySources.Measured : LatencySources.Estimated, v.Measurement?.Runtime),
            new VariantLinks($"{model}?format=onnx", $"{model}?format=torchsharp"));
    }
}
