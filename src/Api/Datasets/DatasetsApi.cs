using System.ComponentModel.DataAnnotations;
using System.ComponentModel;
using Api.Common;
using Microsoft.Extensions.Options;

namespace Api.Datasets;

/// <summary>Dataset as returned by the API.</summary>
/// <param name="Id">The dataset's id.</param>
/// <param name="Name">The name given at upload (or of the first upload of the same content).</param>
/// <param name="Format">The upload format: <c>idx</c>, <c>csv</c> or <c>zip</c> (an image folder); all are stored as IDX.</param>
/// <param name="Samples">Training samples.</param>
/// <param name="TestSamples">Test samples: the uploaded test split, else the share held out of the training samples.</param>
/// <param name="Classes">Number of classes (labels 0..classes−1).</param>
/// <param name="Shape">Shape of one sample, e.g. [28, 28], [3, 32, 32] or [features] for CSV.</param>
/// <param name="ContentHash">sha256 (hex) over the decoded files in a fixed order; uploads with the same hash are deduplicated per tenant.</param>
/// <param name="SizeBytes">Bytes stored for the dataset's files.</param>
/// <param name="CreatedAt">When it was uploaded (UTC).</param>
/// <param name="ClassCounts">Training samples per class (index = class).</param>
/// <param name="TestClassCounts">Test samples per class of an uploaded test split; empty when none was uploaded.</param>
public sealed record DatasetResponse(
    Guid Id, string Name, string Format, int Samples, int TestSamples, int Classes, int[] Shape,
    string ContentHash, long SizeBytes, DateTime CreatedAt, int[] ClassCounts, int[] TestClassCounts)
{
    public static DatasetResponse From(Dataset d) =>
        new(d.Id, d.Name, d.Format, d.Samples, d.TestSamples, d.Classes, d.Shape, d.ContentHash, d.SizeBytes, d.CreatedAt, d.ClassCounts, d.TestClassCounts);
}

public static class DatasetsApi
{
    public static RouteGroupBuilder MapDatasetsApi(this RouteGroupBuilder api)
    {
        RouteGroupBuilder group = api.MapGroup("/datasets").WithTags("Datasets");
        DatasetLimitsOptions limits = ((IEndpointRouteBuilder)api).ServiceProvider.GetRequiredService<IOptions<DatasetLimitsOptions>>().Value;
        group.MapPost("/", CreateAsync)
            .WithName("CreateDataset")
            .WithSummary("Upload a dataset (IDX, CSV or image-folder ZIP)")
            .WithDescription("multipart/form-data with `name` and `format`. "
                + "`idx` (default): files `images` and `labels` (IDX, raw or gzip), optionally `testImages` and `testLabels`; "
                + "or all of them in one ZIP, file `archive`, named as MNIST's (train-images*, train-labels*, t10k-images*, t10k-labels*; test-* also works) in any folder. "
                + "`csv`: file `data`, optionally `testData` (same columns); delimiter `,` `;` or tab, detected; optional `labelColumn` (name or 0-based index; default a header column named label/class/target, else column 0) and `hasHeader` (true/false; detected by default). "
                + "Labels are integers 0..C-1 or strings (classes in ordinal order). IDX stores bytes, so each feature is min-max scaled to 0..255 with the training file's range (test clipped to it): features are quantised to 8 bits; shape [features]. "
                + $"`zip`: file `archive` with one folder of PNG/JPEG images per class (class index = folder names in ordinal order), or `train/` and `test/` folders of class folders; `width`, `height` (1..{limits.MaxImageSide}, default 28) and `channels` (1 grey or 3 RGB, default 1); shape [h, w] or [3, h, w]. "
                + "Without a test split the worker holds out 20% of the samples. "
                + $"Limits of this server (settings `{DatasetLimitsOptions.SectionName}`): {limits.MaxSamples} samples per split, {limits.MaxClasses} classes, {limits.MaxFeatures} CSV features, "
                + $"{limits.MaxZipEntries} ZIP images of at most {limits.MaxZipEntryBytes} bytes and {limits.MaxUncompressedBytes} bytes in all, compressed at most {limits.MaxCompressionRatio}:1, of at most {limits.MaxSourcePixels} pixels each before resizing, "
                + $"gzip files decoding to at most {limits.MaxDecodedBytes} bytes, CSV records of at most {limits.MaxCsvLineLength} characters (RFC 4180: quoted fields may hold delimiters, quotes as \"\" and line breaks), "
                + $"and CSV/ZIP uploads converting to at most {limits.MaxConvertedBytes} IDX bytes (images × width × height × channels, rows × (features + 1)); an upload over one is a 400 naming the field, the limit and its key. "
                + "Text fields: at most `Api:MaxFormFields` of at most `Api:MaxFormFieldLength` bytes each, counted toward `Api:MaxUploadBytes` (413). "
                + "Per API key at most `Api:RateLimit:UploadsPerWindow` uploads per `Api:RateLimit:Window` when set (429 with Retry-After). "
                + "Deduplication: when the decoded content (the IDX files after gzip decoding and CSV/ZIP conversion, hashed in a fixed order: `contentHash`) equals a dataset of your tenant, "
                + "nothing is stored and the answer is 200 with that dataset and its Location (its name is kept); a new dataset is 201.")
            .Accepts<IFormFile>("multipart/form-data")
            .DisableAntiforgery()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status507InsufficientStorage)
            .RequireRateLimiting(Api.Extensions.RequestLimits.UploadsPolicy)
            .WithRequestTimeout(Api.Extensions.RequestLimits.UploadTimeoutPolicy);
        group.MapGet("/{id:guid}", GetAsync).WithName("GetDataset").WithSummary("Get a dataset").ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{id:guid}/samples.png", GetSamplesAsync).WithName("GetDatasetSamples")
            .WithSummary("Sample thumbnails per class (PNG)")
            .WithDescription($"The first {SampleGrid.PerClass} training samples of each of the first {SampleGrid.MaxClassesShown} classes, with class index, name (CSV string labels, ZIP folders) and count. "
                + "Rendered once at upload and stored with the dataset; ETag = its sha256.")
            .Produces(StatusCodes.Status200OK, contentType: "image/png")
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/", ListAsync).WithName("ListDatasets").WithSummary("List datasets, newest first")
            .WithDescription("Optionally only those created in a window: `createdAfter` <= createdAt < `createdBefore` (ISO-8601; "
                + "without an offset a time is UTC). A start later than the end is a 400 naming `createdBefore`.")
            .ProducesValidationProblem();
        return group;
    }

    public static async Task<Results<Created<DatasetResponse>, Ok<DatasetResponse>>> CreateAsync(
        HttpRequest request, DatasetUploadService uploads, CancellationToken cancellationToken)
    {
        (Dataset dataset, bool deduplicated) = await uploads.CreateAsync(request, cancellationToken);
        string location = $"/api/v1/datasets/{dataset.Id}";
        if (deduplicated)
        {
            request.HttpContext.Response.Headers.Location = location;
            return TypedResults.Ok(DatasetResponse.From(dataset));
        }
        return TypedResults.Created(location, DatasetResponse.From(dataset));
    }

    /// <summary>
    /// The stored <see cref="SampleGrid"/> of a dataset. A dataset uploaded before previews existed gets one rendered
    /// from its files on each request (deterministic, so its ETag is stable) rather than written behind its back.
    /// </summary>
    public static async Task<IResult> GetSamplesAsync(
        Guid id, DatasetQueries queries, Infrastructure.Artifacts.IArtifactStore store, HttpContext http, CancellationToken cancellationToken)
    {
        Dataset dataset = await queries.FindAsync(id, cancellationToken);
        // Immutable per dataset, but only for this tenant's keys: private caches only.
        http.Response.Headers.CacheControl = "private, max-age=86400";
        var lastModified = new DateTimeOffset(DateTime.SpecifyKind(dataset.CreatedAt, DateTimeKind.Utc));
        Artifact? preview = await queries.FindSamplesAsync(id, cancellationToken);
        if (preview is not null && store.Exists(preview.Path))
        {
            return TypedResults.Stream(store.OpenRead(preview.Path), "image/png", lastModified: lastModified,
                entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{preview.Sha256}\""));
        }
        byte[] labels;
        using (Stream labelFile = store.OpenRead($"{dataset.ArtifactPath}/{DatasetLayout.TrainLabels}"))
        {
            labels = Idx.Read(labelFile, "labels").Data;
        }
        byte[] png;
        using (Stream images = store.OpenRead($"{dataset.ArtifactPath}/{DatasetLayout.TrainImages}"))
        {
            png = SampleGrid.Render(images, labels, dataset.Classes, classNames: null);
        }
        string sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(png));
        return TypedResults.File(png, "image/png", lastModified: lastModified,
            entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{sha256}\""));
    }

    public static async Task<Ok<DatasetResponse>> GetAsync(Guid id, DatasetQueries queries, CancellationToken cancellationToken) =>
        TypedResults.Ok(await queries.GetAsync(id, cancellationToken));

    public static async Task<Ok<Page<DatasetResponse>>> ListAsync(
        DatasetQueries queries, CancellationToken cancellationToken, [Range(0, int.MaxValue)] int offset = 0, [Range(1, Paging.MaxLimit)] int limit = 50,
        [Description(TimeWindow.AfterDescription)] DateTimeOffset? createdAfter = null,
        [Description(TimeWindow.BeforeDescription)] DateTimeOffset? createdBefore = null) =>
        TypedResults.Ok(await queries.ListAsync(offset, limit, createdAfter, createdBefore, cancellationToken));
}
