using Microsoft.Extensions.Hosting;
using Training.Engine;
using TorchSharp;

namespace Worker.Hosting;

/// <summary>Logs the torch version, the training device and the thread count when the worker starts.</summary>
internal sealed class TorchStartupLogger(TrainingEngine engine, ILogger<TorchStartupLogger> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("Worker ready: TorchSharp {TorchSharp} (libtorch {Torch}), device {Device}, {Threads} intra-op threads, CUDA available: {Cuda}.",
            typeof(torch).Assembly.GetName().Version, torch.__version__, engine.DeviceName, torch.get_num_threads(), torch.cuda.is_available());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
