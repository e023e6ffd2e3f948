using Api.Grpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using TrainingService.Sdk.V1;

namespace Api.IntegrationTests.Grpc;

/// <summary>The variant and device gRPC services and their error helper called directly (no transport, no interceptor).</summary>
public abstract class VariantGrpcServiceUnitTests<TApi>(TApi api) where TApi : ApiFactory
{
    [Fact]
    public void ThrowNoVariantFits_ProblemWithFastestVariant_OutOfRangeWithErrorInfoMetadata()
    {
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Title = "No variant fits the latency budget.", Detail = "The fastest takes 0.25 ms." };
        problem.Extensions["fastestLatencyMs"] = 0.25;
        problem.Extensions["fastestRankFraction"] = 0.0625;
        problem.Extensions["measured"] = false;

        RpcException error = Assert.Throws<RpcException>(() => GrpcErrors.ThrowNoVariantFits(problem));

        Assert.Equal(StatusCode.OutOfRange, error.StatusCode);
        Assert.Contains("0.25 ms", error.Status.Detail);
        Google.Rpc.ErrorInfo info = error.GetRpcStatus()!.GetDetail<Google.Rpc.ErrorInfo>()!;
        Assert.Equal(GrpcErrors.NoVariantFitsReason, info.Reason);
        Assert.Equal("training.v1", info.Domain);
        Assert.Equal("0.25", info.Metadata["fastest_latency_ms"]);
        Assert.Equal("0.0625", info.Metadata["fastest_rank_fraction"]);
        Assert.Equal("false", info.Metadata["measured"]);
    }

    [Fact]
    public async Task FetchVariant_MalformedRunId_ThrowsInvalidArgumentAndWritesNothing()
    {
        await using AsyncServiceScope scope = api.Services.CreateAsyncScope();
        var service = ActivatorUtilities.CreateInstance<Api.Grpc.VariantGrpcService>(scope.ServiceProvider);
        var writer = new ListWriter<VariantChunk>();

        RpcException error = await Assert.ThrowsAsync<RpcException>(() => service.FetchVariant(
            new FetchVariantRequest { RunId = "not-a-uuid", RankFraction = 1 }, writer, new TestServerCallContext("/training.v1.VariantService/FetchVariant")));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("runId", Assert.Single(error.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations).Field);
        Assert.Empty(writer.Written);
    }

    [Fact]
    public async Task ListDevices_AnyProfiles_ReturnsThemOrderedByNameWithTimestamps()
    {
        await using AsyncServiceScope scope = api.Services.CreateAsyncScope();
        var service = ActivatorUtilities.CreateInstance<Api.Grpc.DeviceGrpcService>(scope.ServiceProvider);

        ListDevicesResponse devices = await service.ListDevices(new ListDevicesRequest(), new TestServerCallContext("/training.v1.DeviceService/ListDevices"));

        Assert.Equal(devices.Items.Select(d => d.Name).Order(StringComparer.Ordinal), devices.Items.Select(d => d.Name));
        Assert.All(devices.Items, d => Assert.NotNull(d.CreatedAt));
    }

    private sealed class ListWriter<T> : IServerStreamWriter<T>
    {
        public List<T> Written { get; } = [];

        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(T message)
        {
            Written.Add(message);
            return Task.CompletedTask;
        }
    }
}

public sealed class SqliteVariantGrpcServiceUnitTests(SqliteApi api) : VariantGrpcServiceUnitTests<SqliteApi>(api), IClassFixture<SqliteApi>;
