using System.Globalization;
using Api.Variants;
using Google.Protobuf;
using Grpc.Core;
using Infrastructure.Artifacts;
using V1 = TrainingService.Sdk.V1;

namespace Api.Grpc;

/// <summary>
/// <c>training.v1.VariantService</c>: listing and selection through the REST handlers (and so through
/// <see cref="VariantSelector"/>), and the variant files streamed in chunks with their stored checksum.
/// </summary>
internal sealed class VariantGrpcService(VariantCatalog catalog, IArtifactStore store) : V1.VariantService.VariantServiceBase
{
    public const int DefaultChunkSize = 64 * 1024;
    public const int MinChunkSize = 1024;
    public const int MaxChunkSize = 1 << 20;

    public override async Task<V1.ListVariantsResponse> ListVariants(V1.ListVariantsRequest request, ServerCallContext context)
    {
        Guid id = GrpcErrors.ParseId(request.RunId, "runId");
        VariantsResponse response = (await VariantsApi.ListAsync(id, catalog, context.CancellationToken,
            request.Device.Length == 0 ? null : request.Device, Batch(request.Batch))).Value!;
        return GrpcMapping.ToMessage(response);
    }

    public override async Task<V1.VariantSelection> SelectVariant(V1.SelectVariantRequest request, ServerCallContext context)
    {
        Guid id = GrpcErrors.ParseId(request.RunId, "runId");
        var result = await VariantsApi.SelectAsync(id, catalog, context.CancellationToken,
            request.Device, request.HasLatencyBudgetMs ? request.LatencyBudgetMs : null, Batch(request.Batch));
        switch (result.Result)
        {
            case Ok<SelectionResponse> ok:
                return GrpcMapping.ToMessage(ok.Value!);
            case ProblemHttpResult problem:
                GrpcErrors.ThrowNoVariantFits(problem.ProblemDetails);
                break;
        }
        throw new InvalidOperationException($"Unexpected selection result {result.Result.GetType().Name}.");
    }

    [Microsoft.AspNetCore.Http.Timeouts.RequestTimeout(Api.Extensions.RequestLimits.UploadTimeoutPolicy)]
    public override async Task FetchVariant(V1.FetchVariantRequest request, IServerStreamWriter<V1.VariantChunk> responseStream, ServerCallContext context)
    {
        Guid id = GrpcErrors.ParseId(request.RunId, "runId");
        var rules = new Rules();
        string format = request.Format switch
        {
            V1.VariantFormat.Unspecified or V1.VariantFormat.Onnx => VariantFormats.Onnx,
            V1.VariantFormat.Torchsharp => VariantFormats.TorchSharp,
            _ => "",
        };
        if (format.Length == 0)
        {
            rules.Add("format", $"is not a known variant format ({(int)request.Format}).");
        }
        int chunkSize = request.ChunkSize == 0 ? DefaultChunkSize : request.ChunkSize;
        rules.Range("chunkSize", chunkSize, MinChunkSize, MaxChunkSize);
        rules.ThrowIfInvalid();

        CancellationToken cancellationToken = context.CancellationToken;
        Run run = await catalog.FinishedRunAsync(id, cancellationToken);
        Artifact file = await catalog.VariantFileAsync(run, request.RankFraction, format, cancellationToken);
        byte[] buffer = new byte[chunkSize];
        await using (Stream stream = store.OpenRead(file.Path))
        {
            int read;
            while ((read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken)) > 0)
            {
                // Copied: the buffer is reused for the next chunk while this one may still be queued.
                await responseStream.WriteAsync(new V1.VariantChunk { Data = ByteString.CopyFrom(buffer, 0, read) }, cancellationToken);
            }
        }
        string fraction = request.RankFraction.ToString(CultureInfo.InvariantCulture);
        await responseStream.WriteAsync(new V1.VariantChunk
        {
            Summary = new V1.VariantFileSummary
            {
                Sha256 = file.Sha256,
                SizeBytes = file.SizeBytes,
                FileName = $"run-{run.Id:N}-rank-{fraction}.{(format == VariantFormats.Onnx ? "onnx" : "bin")}",
            },
        }, cancellationToken);
    }

    /// <summary>0 means the REST default (1); anything else goes to the REST validation.</summary>
    private static int Batch(int batch) => batch == 0 ? 1 : batch;
}
