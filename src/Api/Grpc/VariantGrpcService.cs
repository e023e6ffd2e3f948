using Api.Variants;
using Google.Protobuf;
using Grpc.Core;
using Infrastructure.Artifacts;
using V1 = TrainingService.Sdk.V1;

namespace Api.Grpc;

/// <summary>
/// <c>training.v1.VariantService</c>: listing, selection and variant files through the same <see cref="VariantService"/>
/// as REST (and so through <see cref="VariantSelector"/>), the files streamed in chunks with their stored checksum.
/// </summary>
internal sealed class VariantGrpcService(VariantService variants, IArtifactStore store) : V1.VariantService.VariantServiceBase
{
    public const int DefaultChunkSize = 64 * 1024;
    public const int MinChunkSize = 1024;
    public const int MaxChunkSize = 1 << 20;

    public override async Task<V1.ListVariantsResponse> ListVariants(V1.ListVariantsRequest request, ServerCallContext context)
    {
        Guid id = GrpcErrors.ParseId(request.RunId, "runId");
        VariantsResponse response = await variants.ListAsync(
            id, request.Device.Length == 0 ? null : request.Device, Batch(request.Batch), context.CancellationToken);
        return GrpcMapping.ToMessage(response);
    }

    public override async Task<V1.VariantSelection> SelectVariant(V1.SelectVariantRequest request, ServerCallContext context)
    {
        Guid id = GrpcErrors.ParseId(request.RunId, "runId");
        SelectionOutcome outcome = await variants.SelectAsync(
            id, request.Device, request.HasLatencyBudgetMs ? request.LatencyBudgetMs : null, Batch(request.Batch), context.CancellationToken);
        if (outcome.NoFit is { } problem)
        {
            GrpcErrors.ThrowNoVariantFits(problem);
        }
        return GrpcMapping.ToMessage(outcome.Selection!);
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
        VariantFile file = await variants.FileAsync(id, request.RankFraction, format, cancellationToken);
        byte[] buffer = new byte[chunkSize];
        await using (Stream stream = store.OpenRead(file.Artifact.Path))
        {
            int read;
            while ((read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken)) > 0)
            {
                // Copied: the buffer is reused for the next chunk while this one may still be queued.
                await responseStream.WriteAsync(new V1.VariantChunk { Data = ByteString.CopyFrom(buffer, 0, read) }, cancellationToken);
            }
        }
        await responseStream.WriteAsync(new V1.VariantChunk
        {
            Summary = new V1.VariantFileSummary
            {
                Sha256 = file.Artifact.Sha256,
                SizeBytes = file.Artifact.SizeBytes,
                FileName = file.FileName,
            },
        }, cancellationToken);
    }

    /// <summary>0 means the REST default (1); anything else goes to the service's validation.</summary>
    private static int Batch(int batch) => batch == 0 ? 1 : batch;
}
