using Api.Grpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using TrainingService.Sdk.V1;

namespace Api.IntegrationTests.Grpc;

/// <summary>The gRPC service classes called directly with a test <see cref="ServerCallContext"/> (no transport, no interceptor).</summary>
public abstract class GrpcServiceUnitTests<TApi>(TApi api) where TApi : ApiFactory
{
    [Fact]
    public async Task GetRun_MalformedId_ThrowsInvalidArgumentWithFieldViolation()
    {
        await using AsyncServiceScope scope = api.Services.CreateAsyncScope();
        var service = ActivatorUtilities.CreateInstance<Api.Grpc.RunGrpcService>(scope.ServiceProvider);

        RpcException error = await Assert.ThrowsAsync<RpcException>(() =>
            service.GetRun(new GetRunRequest { Id = "not-a-uuid" }, new TestServerCallContext("/training.v1.RunService/GetRun")));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Google.Rpc.BadRequest? details = error.GetRpcStatus()?.GetDetail<Google.Rpc.BadRequest>();
        Assert.Equal("id", Assert.Single(details!.FieldViolations).Field);
    }

    [Fact]
    public async Task ListDatasets_ZeroLimit_UsesRestDefaultPage()
    {
        await using AsyncServiceScope scope = api.Services.CreateAsyncScope();
        var service = ActivatorUtilities.CreateInstance<Api.Grpc.DatasetGrpcService>(scope.ServiceProvider);

        ListDatasetsResponse page = await service.ListDatasets(new ListDatasetsRequest(), new TestServerCallContext("/training.v1.DatasetService/ListDatasets"));

        Assert.Equal(0, page.Offset);
        Assert.Equal(50, page.Limit);
        Assert.Equal(page.Items.Count, Math.Min(page.Total, 50));
    }
}

public sealed class SqliteGrpcServiceUnitTests(SqliteApi api) : GrpcServiceUnitTests<SqliteApi>(api), IClassFixture<SqliteApi>;

public sealed class PostgresGrpcServiceUnitTests(PostgresApi api) : GrpcServiceUnitTests<PostgresApi>(api), IClassFixture<PostgresApi>;
