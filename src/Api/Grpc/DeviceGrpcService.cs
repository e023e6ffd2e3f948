using Api.Devices;
using Grpc.Core;
using V1 = TrainingService.Sdk.V1;

namespace Api.Grpc;

/// <summary><c>training.v1.DeviceService</c>: device profiles and their latency tables through the same <see cref="DeviceService"/> as REST.</summary>
internal sealed class DeviceGrpcService(DeviceService devices) : V1.DeviceService.DeviceServiceBase
{
    public override async Task<V1.ListDevicesResponse> ListDevices(V1.ListDevicesRequest request, ServerCallContext context)
    {
        var response = new V1.ListDevicesResponse();
        response.Items.AddRange((await devices.ListAsync(context.CancellationToken)).Select(GrpcMapping.ToMessage));
        return response;
    }

    public override async Task<V1.Device> GetDevice(V1.GetDeviceRequest request, ServerCallContext context)
    {
        ValidateName("name", request.Name);
        return GrpcMapping.ToMessage(await devices.GetAsync(request.Name, context.CancellationToken));
    }

    public override async Task<V1.Device> CreateDevice(V1.CreateDeviceRequest request, ServerCallContext context)
    {
        var body = new CreateDeviceRequest(request.Name,
            request.HasDescription ? request.Description : null,
            request.HasCpuModel ? request.CpuModel : null,
            request.HasCores ? request.Cores : null,
            request.HasThreads ? request.Threads : null,
            request.HasGpuName ? request.GpuName : null);
        try
        {
            return GrpcMapping.ToMessage(await devices.CreateAsync(body, context.CancellationToken));
        }
        catch (ConflictException ex)
        {
            // REST's 409 for a taken name; over gRPC the precise code is ALREADY_EXISTS.
            GrpcErrors.ThrowAlreadyExists(ex.Message);
            throw;
        }
    }

    public override async Task<V1.PostLatenciesResponse> PostLatencies(V1.PostLatenciesRequest request, ServerCallContext context)
    {
        ValidateName("device", request.Device);
        // Empty is left to the service's rules ("runId is required"), which then report every other field too.
        Guid runId = request.RunId.Length == 0 ? Guid.Empty : GrpcErrors.ParseId(request.RunId, "runId");
        var body = new PostLatenciesRequest(runId,
            request.HasRuntime ? request.Runtime : null,
            request.HasThreads ? request.Threads : null,
            request.Measurements.Select(m => new LatencyMeasurementRequest(
                m.RankFraction, m.Batch, m.MedianMs, m.HasP90Ms ? m.P90Ms : null, m.HasRuns ? m.Runs : null)).ToList());
        PostLatenciesResponse stored = await devices.PostLatenciesAsync(request.Device, body, context.CancellationToken);
        return new V1.PostLatenciesResponse { Device = stored.Device, RunId = stored.RunId.ToString(), Stored = stored.Stored };
    }

    private static void ValidateName(string field, string name)
    {
        var rules = new Rules();
        DeviceProfile.ValidateName(rules, field, name);
        rules.ThrowIfInvalid();
    }
}
