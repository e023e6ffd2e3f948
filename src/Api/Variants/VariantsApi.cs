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
        Guid id, VariantService variants, CancellationToken cancellationToken, string? device = null, [Range(1, VariantCatalog.MaxBatch)] int batch = 1) =>
        TypedResults.Ok(await variants.ListAsync(id, device, batch, cancellationToken));

    public static async Task<Results<Ok<SelectionResponse>, ProblemHttpResult>> SelectAsync(
        Guid id, VariantService variants, CancellationToken cancellationToken, string? device = null, [Range(0, 3_600_000, MinimumIsExclusive = true)] double? latencyBudgetMs = null, [Range(1, VariantCatalog.MaxBatch)] int batch = 1)
    {
        SelectionOutcome outcome = await variants.SelectAsync(id, device, latencyBudgetMs, batch, cancellationToken);
        if (outcome.Selection is { } selection)
        {
            return TypedResults.Ok(selection);
        }
        return TypedResults.Problem(outcome.NoFit!);
    }

    public static async Task<IResult> DownloadAsync(
        Guid id, double fraction, VariantService variants, IArtifactStore store, CancellationToken cancellationToken, string format = VariantFormats.Onnx)
    {
        VariantFile file = await variants.FileAsync(id, fraction, format, cancellationToken);
        return TypedResults.Stream(
            store.OpenRead(file.Artifact.Path),
            "application/octet-stream",
            file.FileName,
            new DateTimeOffset(file.Artifact.CreatedAt, TimeSpan.Zero),
            new EntityTagHeaderValue($"\"{file.Artifact.Sha256}\""),
            enableRangeProcessing: true);
    }
}
