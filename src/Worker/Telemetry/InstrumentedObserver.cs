using System.Diagnostics;
using Infrastructure.Observability;
using Training.Engine;

namespace Worker.Telemetry;

/// <summary>
/// Wraps the job's training observer: after each epoch the engine reports it records the epoch's metrics
/// (duration, samples per second, current epoch) and a <c>training.epoch</c> span, a child of the job
/// attempt's span, back-dated to the epoch's start, then hands the report on.
/// </summary>
public sealed class InstrumentedObserver(ITrainingObserver inner, int trainingSamples, string device) : ITrainingObserver
{
    public void OnEpochCompleted(EpochReport report, Action<Stream> writeCheckpoint)
    {
        var deviceTag = new KeyValuePair<string, object?>(ServiceTelemetry.DeviceAttribute, device);
        ServiceTelemetry.EpochDuration.Record(report.Seconds, deviceTag);
        ServiceTelemetry.EpochsCompleted.Add(1, deviceTag);
        ServiceTelemetry.SamplesTrained.Add(trainingSamples, deviceTag);
        ServiceTelemetry.CurrentEpoch.Record(report.Epoch, deviceTag);
        if (report.Seconds > 0)
        {
            ServiceTelemetry.Throughput.Record(trainingSamples / report.Seconds, deviceTag);
        }

        DateTimeOffset now = DateTimeOffset.UtcNow;
        using Activity? epoch = ServiceTelemetry.ActivitySource.StartActivity(
            "training.epoch", ActivityKind.Internal, Activity.Current?.Context ?? default, startTime: now - TimeSpan.FromSeconds(report.Seconds));
        epoch?.SetTag("tas.training.epoch", report.Epoch);
        epoch?.SetTag("tas.training.epochs", report.Epochs);
        epoch?.SetTag("tas.training.stage", report.Stage);
        epoch?.SetTag("tas.training.test_accuracy", report.TestAccuracy);
        // The checkpoint and metric rows are written inside the epoch's span.
        inner.OnEpochCompleted(report, writeCheckpoint);
    }
}
