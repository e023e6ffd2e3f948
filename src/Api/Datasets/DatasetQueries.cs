using Api.Common;

namespace Api.Datasets;

/// <summary>
/// The dataset reads the REST endpoints (<see cref="DatasetsApi"/>) and the gRPC service share: one dataset, a page of
/// them, a dataset's stored preview. The tenant filter applies to each.
/// </summary>
public sealed class DatasetQueries(AppDbContext db)
{
    /// <exception cref="NotFoundException">No dataset of the tenant has this id.</exception>
    public async Task<Dataset> FindAsync(Guid id, CancellationToken cancellationToken) =>
        await db.Datasets.AsNoTracking().SingleOrDefaultAsync(d => d.Id == id, cancellationToken)
            ?? throw new NotFoundException("Dataset", id);

    public async Task<DatasetResponse> GetAsync(Guid id, CancellationToken cancellationToken) =>
        DatasetResponse.From(await FindAsync(id, cancellationToken));

    /// <summary>
    /// Datasets newest first, optionally only those created in [<paramref name="createdAfter"/>, <paramref name="createdBefore"/>);
    /// a bad page or window is a <see cref="DomainValidationException"/> naming the parameter.
    /// </summary>
    public async Task<Page<DatasetResponse>> ListAsync(
        int offset, int limit, DateTimeOffset? createdAfter, DateTimeOffset? createdBefore, CancellationToken cancellationToken)
    {
        var rules = new Rules();
        (offset, limit) = Paging.Clamp(rules, offset, limit);
        TimeWindow created = TimeWindow.Check(rules, "createdAfter", createdAfter, "createdBefore", createdBefore);
        rules.ThrowIfInvalid();
        IQueryable<Dataset> query = created.Apply(db.Datasets.AsNoTracking(), d => d.CreatedAt);
        int total = await query.CountAsync(cancellationToken);
        List<Dataset> items = await query.OrderByDescending(d => d.CreatedAt).ThenBy(d => d.Id)
            .Skip(offset).Take(limit).ToListAsync(cancellationToken);
        return new Page<DatasetResponse>(items.Select(DatasetResponse.From).ToList(), total, offset, limit);
    }

    /// <summary>The <see cref="SampleGrid"/> artifact stored with a dataset; null for a dataset uploaded before previews existed.</summary>
    public Task<Artifact?> FindSamplesAsync(Guid id, CancellationToken cancellationToken) =>
        db.Artifacts.AsNoTracking()
            .Where(a => a.DatasetId == id && a.Kind == ArtifactKinds.DatasetSamples)
            .FirstOrDefaultAsync(cancellationToken);
}
