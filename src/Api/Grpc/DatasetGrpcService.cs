using Api.Common;
using Api.Datasets;
using Grpc.Core;
using V1 = TrainingService.Sdk.V1;

namespace Api.Grpc;

/// <summary><c>training.v1.DatasetService</c>: the REST datasets endpoints over gRPC, sharing their upload path and queries.</summary>
internal sealed class DatasetGrpcService(DatasetUploadService uploads, DatasetQueries queries) : V1.DatasetService.DatasetServiceBase
{
    [Microsoft.AspNetCore.RateLimiting.EnableRateLimiting(Api.Extensions.RequestLimits.UploadsPolicy)]
    [Microsoft.AspNetCore.Http.Timeouts.RequestTimeout(Api.Extensions.RequestLimits.UploadTimeoutPolicy)]
    public override async Task<V1.Dataset> UploadDataset(IAsyncStreamReader<V1.UploadDatasetRequest> requestStream, ServerCallContext context)
    {
        CancellationToken cancellationToken = context.CancellationToken;
        using DatasetUpload upload = uploads.Begin();
        bool hasMetadata = false;
        while (await requestStream.MoveNext(cancellationToken))
        {
            V1.UploadDatasetRequest message = requestStream.Current;
            switch (message.ContentCase)
            {
                case V1.UploadDatasetRequest.ContentOneofCase.Metadata when !hasMetadata:
                    hasMetadata = true;
                    upload.AddField("name", message.Metadata.Name);
                    if (message.Metadata.Format.Length > 0)
                    {
                        upload.AddField("format", message.Metadata.Format);
                    }
                    foreach ((string option, string value) in message.Metadata.Options)
                    {
                        if (!DatasetUploadService.FormatOptions.Contains(option))
                        {
                            GrpcErrors.ThrowInvalidArgument($"metadata.options.{option}", $"is not an option; use {string.Join(", ", DatasetUploadService.FormatOptions)}.");
                        }
                        upload.AddField(option, value);
                    }
                    break;
                case V1.UploadDatasetRequest.ContentOneofCase.Metadata:
                    GrpcErrors.ThrowInvalidArgument("metadata", "was sent more than once.");
                    break;
                case V1.UploadDatasetRequest.ContentOneofCase.Chunk when hasMetadata:
                    await upload.AppendAsync(FileField(message.Chunk.File), message.Chunk.Data.Memory, cancellationToken);
                    break;
                case V1.UploadDatasetRequest.ContentOneofCase.Chunk:
                    GrpcErrors.ThrowInvalidArgument("metadata", "must be the first message, before any chunk.");
                    break;
                default:
                    GrpcErrors.ThrowInvalidArgument("content", "must be metadata or a chunk.");
                    break;
            }
        }
        if (!hasMetadata)
        {
            GrpcErrors.ThrowInvalidArgument("metadata", "is required as the first message.");
        }
        (Dataset dataset, bool deduplicated) = await uploads.CommitAsync(upload, cancellationToken);
        V1.Dataset response = GrpcMapping.ToMessage(DatasetResponse.From(dataset));
        response.Deduplicated = deduplicated;
        return response;
    }

    public override async Task<V1.Dataset> GetDataset(V1.GetDatasetRequest request, ServerCallContext context)
    {
        Guid id = GrpcErrors.ParseId(request.Id, "id");
        return GrpcMapping.ToMessage(await queries.GetAsync(id, context.CancellationToken));
    }

    public override async Task<V1.ListDatasetsResponse> ListDatasets(V1.ListDatasetsRequest request, ServerCallContext context)
    {
        Page<DatasetResponse> page = await queries.ListAsync(request.Offset, GrpcMapping.Limit(request.Limit),
            GrpcMapping.FromTimestamp(request.CreatedAfter, "createdAfter"), GrpcMapping.FromTimestamp(request.CreatedBefore, "createdBefore"),
            context.CancellationToken);
        var response = new V1.ListDatasetsResponse { Total = page.Total, Offset = page.Offset, Limit = page.Limit };
        response.Items.AddRange(page.Items.Select(GrpcMapping.ToMessage));
        return response;
    }

    /// <summary>The REST form field a chunk's file tag stands for, so validation names the same fields.</summary>
    private static string FileField(V1.DatasetFile file)
    {
        switch (file)
        {
            case V1.DatasetFile.Images:
                return "images";
            case V1.DatasetFile.Labels:
                return "labels";
            case V1.DatasetFile.TestImages:
                return "testImages";
            case V1.DatasetFile.TestLabels:
                return "testLabels";
            case V1.DatasetFile.Data:
                return "data";
            case V1.DatasetFile.TestData:
                return "testData";
            case V1.DatasetFile.Archive:
                return "archive";
            default:
                GrpcErrors.ThrowInvalidArgument("chunk.file", $"must name one of {string.Join(", ", DatasetUploadService.FileFields)} (was {file}).");
                return "";
        }
    }
}
