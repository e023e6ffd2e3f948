using System.Globalization;

namespace Api.Variants;

/// <summary>
/// The outcome of a selection: the chosen variant, or, when none fits the budget, the problem REST answers with 422
/// and gRPC with OUT_OF_RANGE (its extensions name the fastest variant's latency).
/// </summary>
public readonly record struct SelectionOutcome(SelectionResponse? Selection, ProblemDetails? NoFit);

/// <summary>A variant file to send: the stored artifact and the file name clients save it as.</summary>
public sealed record VariantFile(Artifact Artifact, string FileName);

/// <summary>
/// A finished run's variants for <see cref="VariantsApi"/> and the gRPC <c>VariantService</c>: frontiers per device,
/// selection within a latency budget (through <see cref="VariantPriceCache"/>), and variant files. Failures are exceptions
/// (<see cref="DomainValidationException"/>, <see cref="NotFoundException"/>, <see cref="ConflictException"/>).
/// </summary>
public sealed class VariantService(VariantCatalog catalog)
{
    /// <summary>The Pareto frontier and every variant, on <paramref name="device"/> or on every device measured for the run.</summary>
    public async Task<VariantsResponse> ListAsync(Guid id, string? device, int batch, CancellationToken cancellationToken)
    {
        var rules = new Rules();
        rules.Range("batch", batch, 1, VariantCatalog.MaxBatch);
        rules.ThrowIfInvalid();
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
        return new VariantsResponse(run.Id, result);
    }

    /// <summary>The most accurate variant within <paramref name="latencyBudgetMs"/> on the device (ties: fewer parameters).</summary>
    public async Task<SelectionOutcome> SelectAsync(Guid id, string? device, double? latencyBudgetMs, int batch, CancellationToken cancellationToken)
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
            var problem = new ProblemDetails
            {
                Status = StatusCodes.Status422UnprocessableEntity,
                Title = "No variant fits the latency budget.",
                Detail = fastest is null
                    ? $"Run {id} has no priced variants on '{profile.Name}'."
                    : $"The fastest variant (rank fraction {fastest.RankFraction}) takes {fastest.LatencyMs:F3} ms on '{profile.Name}' at batch {batch}; the budget is {latencyBudgetMs} ms.",
            };
            problem.Extensions["fastestLatencyMs"] = fastest?.LatencyMs;
            problem.Extensions["fastestRankFraction"] = fastest?.RankFraction;
            problem.Extensions["measured"] = fastest?.Measured;
            return new SelectionOutcome(null, problem);
        }
        PricedVariant variant = priced.Variants.First(v => v.Candidate == chosen);
        return new SelectionOutcome(new SelectionResponse(id, profile.Name, batch, latencyBudgetMs.Value, ToResponse(id, profile, batch, variant)), null);
    }

    /// <summary>The stored file of a finished run's variant at <paramref name="fraction"/> in <paramref name="format"/>.</summary>
    public async Task<VariantFile> FileAsync(Guid id, double fraction, string format, CancellationToken cancellationToken)
    {
        var rules = new Rules();
        rules.OneOf("format", format, VariantFormats.All);
        rules.ThrowIfInvalid();
        Run run = await catalog.FinishedRunAsync(id, cancellationToken);
        Artifact file = await catalog.VariantFileAsync(run, fraction, format, cancellationToken);
        string extension = format == VariantFormats.Onnx ? "onnx" : "bin";
        return new VariantFile(file, $"run-{run.Id:N}-rank-{fraction.ToString(CultureInfo.InvariantCulture)}.{extension}");
    }

    private static VariantResponse ToResponse(Guid runId, DeviceProfile device, int batch, PricedVariant v)
    {
        string fraction = v.Point.RankFraction.ToString("R", CultureInfo.InvariantCulture);
        string model = $"/api/v1/runs/{runId}/variants/{fraction}/model";
        return new VariantResponse(
            v.Point.RankFraction, v.Point.Ranks, v.Point.Parameters, v.Point.Flops, v.Point.Accuracy,
            new LatencyResponse(device.Name, batch, v.Candidate.LatencyMs, v.Measurement?.P90Ms, v.Candidate.Measured,
                v.Candidate.Measured ? LatencySources.Measured : LatencySources.Estimated, v.Measurement?.Runtime),
            new VariantLinks($"{model}?format=onnx", $"{model}?format=torchsharp"));
    }
}
