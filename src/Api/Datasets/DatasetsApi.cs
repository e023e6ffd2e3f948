using System.ComponentModel;

namespace Api.Datasets;

/// <summary>Dataset as returned by the API.</summary>
public sealed record DatasetResponse(
    Guid Id, string Name, string Format, int Samples, int TestSamples, int Classes, int[] Shape,
    string ContentHash, long SizeBytes, DateTime CreatedAt)
{
    public static DatasetResponse From(Dataset d) =>
        new(d.Id, d.Name, d.Format, d.Samples, d.TestSamples, d.Classes, d.Shape, d.ContentHash, d.SizeBytes, d.CreatedAt);
}

public sealed record Page<T>(IReadOnlyList<T> Items, int Total, int Offset, int Limit);

public static class DatasetsApi
{
    public static RouteGroupBuilder MapDatasetsApi(this RouteGroupBuilder api)
    {
        RouteGroupBuilder group = api.MapGroup("/datasets").WithTags("Datasets");
        group.MapPost("/", CreateAsync)
            .WithName("CreateDataset")
            .WithSummary("Upload a dataset (IDX, CSV or image-folder ZIP)")
            .WithDescription("multipart/form-data with `name` and `format`. "
                + "`idx` (default): files `images` and `labels` (IDX, raw or gzip), optionally `testImages` and `testLabels`. "
                + "`csv`: file `data`, optionally `testData` (same columns); delimiter `,` `;` or tab, detected; optional `labelColumn` (name or 0-based index; default a header column named label/class/target, else column 0) and `hasHeader` (true/false; detected by default). "
                + "Labels are integers 0..C-1 or strings (classes in ordinal order). IDX stores bytes, so each feature is min-max scaled to 0..255 with the training file's range (test clipped to it): features are quantised to 8 bits; shape [features]. "
                + "`zip`: file `archive` with one folder of PNG/JPEG images per class (class index = folder names in ordinal order), or `train/` and `test/` folders of class folders; `width`, `height` (1..512, default 28) and `channels` (1 grey or 3 RGB, default 1); shape [h, w] or [3, h, w]. "
                + "Without a test split the worker holds out 20% of the samples.")
            .Accepts<IFormFile>("multipart/form-data")
            .DisableAntiforgery()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        group.MapGet("/{id:guid}", GetAsync).WithName("GetDataset").WithSummary("Get a dataset").ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/", ListAsync).WithName("ListDatasets").WithSummary("List datasets, newest first")
            .WithDescription("Optionally only those created in a window: `createdAfter` <= createdAt < `createdBefore` (ISO-8601; "
                + "without an offset a time is UTC). A start later than the end is a 400 naming `createdBefore`.")
            .ProducesValidationProblem();
        return group;
    }

    public static async Task<Created<DatasetResponse>> CreateAsync(HttpRequest request, DatasetUploadService uploads, CancellationToken cancellationToken)
    {
        Dataset dataset = await uploads.CreateAsync(request, cancellationToken);
        return TypedResults.Created($"/api/v1/datasets/{dataset.Id}", DatasetResponse.From(dataset));
    }

    public static async Task<Ok<DatasetResponse>> GetAsync(Guid id, AppDbContext db, CancellationToken cancellationToken)
    {
        Dataset dataset = await db.Datasets.AsNoTracking().SingleOrDefaultAsync(d => d.Id == id, cancellationToken)
            ?? throw new NotFoundException("Dataset", id);
        return TypedResults.Ok(DatasetResponse.From(dataset));
    }

    public static async Task<Ok<Page<DatasetResponse>>> ListAsync(
        AppDbContext db, CancellationToken cancellationToken, int offset = 0, int limit = 50,
        [Description(TimeWindow.AfterDescription)] DateTimeOffset? createdAfter = null,
        [Description(TimeWindow.BeforeDescription)] DateTimeOffset? createdBefore = null)
    {
        var rules = new Rules();
        (offset, limit) = Paging.Clamp(rules, offset, limit);
        TimeWindow created = TimeWindow.Check(rules, "createdAfter", createdAfter, "createdBefore", createdBefore);
        rules.ThrowIfInvalid();
        IQueryable<Dataset> query = db.Datasets.AsNoTracking();
        if (created.From is { } from)
        {
            query = query.Where(d => d.CreatedAt >= from);
        }
        if (created.Before is { } before)
        {
            query = query.Where(d => d.CreatedAt < before);
        }
        int total = await query.CountAsync(cancellationToken);
        List<Dataset> items = await query.OrderByDescending(d => d.CreatedAt).ThenBy(d => d.Id)
            .Skip(offset).Take(limit).ToListAsync(cancellationToken);
        return TypedResults.Ok(new Page<DatasetResponse>(items.Select(DatasetResponse.From).ToList(), total, offset, limit));
    }
}

internal static class Paging
{
    public const int MaxLimit = 500;

    public static (int Offset, int Limit) Clamp(int offset, int limit)
    {
        var rules = new Rules();
        (offset, limit) = Clamp(rules, offset, limit);
        rules.ThrowIfInvalid();
        return (offset, limit);
    }

    /// <summary>Adds paging violations to <paramref name="rules"/>, so a list reports them with its other filters' at once.</summary>
    public static (int Offset, int Limit) Clamp(Rules rules, int offset, int limit)
    {
        rules.Range("offset", offset, 0, int.MaxValue);
        rules.Range("limit", limit, 1, MaxLimit);
        return (offset, limit);
    }
}
