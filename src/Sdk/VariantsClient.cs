using System.Security.Cryptography;

namespace TrainingService.Sdk;

/// <summary>
/// Variants over <c>training.v1.VariantService</c> (<see cref="TrainingClient.Variants"/>): a finished run's
/// accuracy-latency frontier per device, selection within a latency budget, and verified downloads. Every call is
/// retried on <see cref="StatusCode.Unavailable"/> (a download only until its first chunk arrives).
/// </summary>
public sealed class VariantsClient
{
    private readonly VariantService.VariantServiceClient _variants;

    internal VariantsClient(ClientContext context)
    {
        _variants = new VariantService.VariantServiceClient(context.Invoker);
    }

    /// <summary>
    /// A finished run's variants per device: the accuracy-latency Pareto frontier (fastest first) and every
    /// variant. Without <paramref name="device"/>, every device with measurements of the run.
    /// </summary>
    public async Task<ListVariantsResponse> ListAsync(
        Guid runId, string? device = null, int batch = 1, CancellationToken cancellationToken = default) =>
        await _variants.ListVariantsAsync(new ListVariantsRequest { RunId = runId.ToString(), Device = device ?? "", Batch = batch },
            cancellationToken: cancellationToken);

    /// <summary>
    /// The most accurate variant whose latency on <paramref name="device"/> fits <paramref name="latencyBudgetMs"/>
    /// (ties: fewer parameters). When none fits, <see cref="RpcException"/> with <see cref="StatusCode.OutOfRange"/>;
    /// <see cref="RpcExceptionExtensions.FastestLatencyMs"/> reads the fastest variant's latency from it.
    /// </summary>
    public async Task<VariantSelection> SelectAsync(
        Guid runId, string device, double latencyBudgetMs, int batch = 1, CancellationToken cancellationToken = default) =>
        await _variants.SelectVariantAsync(new SelectVariantRequest
        {
            RunId = runId.ToString(),
            Device = device,
            LatencyBudgetMs = latencyBudgetMs,
            Batch = batch,
        }, cancellationToken: cancellationToken);

    /// <summary>
    /// Downloads a variant into <paramref name="destination"/> (written from its current position) and checks
    /// the bytes against the SHA-256 and size the service sends last.
    /// </summary>
    /// <returns>The file's checksum, size and suggested name.</returns>
    /// <exception cref="InvalidDataException">The bytes received do not match the checksum or size (the destination then holds them anyway).</exception>
    public async Task<VariantFileSummary> FetchAsync(
        Guid runId, double rankFraction, Stream destination, VariantFormat format = VariantFormat.Onnx, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = 0;
        var request = new FetchVariantRequest { RunId = runId.ToString(), RankFraction = rankFraction, Format = format };
        using AsyncServerStreamingCall<VariantChunk> call = _variants.FetchVariant(request, cancellationToken: cancellationToken);
        await foreach (VariantChunk chunk in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            switch (chunk.ContentCase)
            {
                case VariantChunk.ContentOneofCase.Data:
                    sha256.AppendData(chunk.Data.Span);
                    await destination.WriteAsync(chunk.Data.Memory, cancellationToken);
                    received += chunk.Data.Length;
                    break;
                case VariantChunk.ContentOneofCase.Summary:
                    string actual = Convert.ToHexStringLower(sha256.GetHashAndReset());
                    if (received != chunk.Summary.SizeBytes || !string.Equals(actual, chunk.Summary.Sha256, StringComparison.OrdinalIgnoreCase))
                    {
                        throw new InvalidDataException(
                            $"The variant at rank fraction {rankFraction} of run {runId} arrived corrupted: {received} bytes with SHA-256 {actual}, " +
                            $"expected {chunk.Summary.SizeBytes} bytes with {chunk.Summary.Sha256}.");
                    }
                    return chunk.Summary;
            }
        }
        throw new InvalidDataException($"The download of the variant at rank fraction {rankFraction} of run {runId} ended without its checksum.");
    }

    /// <summary>
    /// Downloads a variant to the file <paramref name="path"/>, verified as <see cref="FetchAsync(Guid, double, Stream, VariantFormat, CancellationToken)"/>
    /// does. The file appears only once verified (written next to it first, then moved over it).
    /// </summary>
    public async Task<VariantFileSummary> FetchAsync(
        Guid runId, double rankFraction, string path, VariantFormat format = VariantFormat.Onnx, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string partial = path + ".part";
        try
        {
            VariantFileSummary summary;
            await using (FileStream file = File.Create(partial))
            {
                summary = await FetchAsync(runId, rankFraction, file, format, cancellationToken);
            }
            File.Move(partial, path, overwrite: true);
            return summary;
        }
        finally
        {
            File.Delete(partial);
        }
    }
}
