using TorchSharp;
using static TorchSharp.torch;

namespace Training.Engine;

/// <summary>
/// Runs one training job (standard, Maestro low-rank with ordered dropout, nested dropout, co-teaching, or the
/// nested-dropout + co-teaching recipe) on CPU or CUDA. Holds no training state between runs, so one engine may
/// serve many jobs one after another.
/// </summary>
public sealed class TrainingEngine
{
    private readonly Device _device;

    public TrainingEngine(TrainingEngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Threads > 0)
        {
            torch.set_num_threads(options.Threads);
        }
        _device = options.Device.ToLowerInvariant() switch
        {
            "cpu" => CPU,
            "cuda" => cuda.is_available() ? CUDA : throw new InvalidOperationException("CUDA was requested but is not available."),
            "auto" => cuda.is_available() ? CUDA : CPU,
            var other => throw new ArgumentException($"Unknown device '{other}' (auto, cpu or cuda).", nameof(options)),
        };
        DeviceName = _device.type == DeviceType.CUDA ? "cuda:0" : "cpu";
    }

    /// <summary><c>cpu</c> or <c>cuda:0</c>.</summary>
    public string DeviceName { get; }

    /// <summary>
    /// Trains synchronously on the calling thread and reports every epoch to <paramref name="observer"/>.
    /// Throws <see cref="OperationCanceledException"/> between steps once <paramref name="cancellationToken"/> fires.
    /// <paramref name="resumeFrom"/> is a stream written by a checkpoint delegate of an earlier run of the same request;
    /// training continues at the next epoch and, on CPU with the same seed, produces exactly the same metrics.
    /// </summary>
    public TrainingOutcome Run(TrainingRequest request, ITrainingObserver observer, Stream? resumeFrom, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(observer);
        using var session = new TrainingSession(request, _device);
        return session.Run(observer, resumeFrom, cancellationToken);
    }
}
