using Api.Datasets;
using Api.Devices;
using Api.Jobs;
using Api.Runs;
using Api.Variants;
using Api.Workers;
using Google.Protobuf.WellKnownTypes;
using V1 = TrainingService.Sdk.V1;

namespace Api.Grpc;

/// <summary>
/// Maps the REST response records to their <c>training.v1</c> messages, so both APIs share one query and
/// one response shape per resource (the REST contract is the source of truth).
/// </summary>
internal static class GrpcMapping
{
    public const int DefaultLimit = 50;

    public static Timestamp ToTimestamp(DateTime value) => Timestamp.FromDateTime(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    /// <summary>An optional time filter: unset is null; a timestamp outside 0001-01-01..9999-12-31 is a violation of <paramref name="field"/>.</summary>
    public static DateTimeOffset? FromTimestamp(Timestamp? value, string field)
    {
        if (value is null)
        {
            return null;
        }
        try
        {
            return value.ToDateTimeOffset();
        }
        catch (InvalidOperationException)
        {
            throw new DomainValidationException(field, $"is not a valid timestamp (seconds {value.Seconds}, nanos {value.Nanos}).");
        }
    }

    /// <summary>0 means the REST default.</summary>
    public static int Limit(int limit) => limit == 0 ? DefaultLimit : limit;

    public static V1.Dataset ToMessage(DatasetResponse d)
    {
        var message = new V1.Dataset
        {
            Id = d.Id.ToString(),
            Name = d.Name,
            Format = d.Format,
            Samples = d.Samples,
            TestSamples = d.TestSamples,
            Classes = d.Classes,
            ContentHash = d.ContentHash,
            SizeBytes = d.SizeBytes,
            CreatedAt = ToTimestamp(d.CreatedAt),
        };
        message.Shape.AddRange(d.Shape);
        message.ClassCounts.AddRange(d.ClassCounts);
        message.TestClassCounts.AddRange(d.TestClassCounts);
        return message;
    }

    public static V1.JobStatus ToMessage(JobStatus status) => status switch
    {
        JobStatus.Queued => V1.JobStatus.Queued,
        JobStatus.Running => V1.JobStatus.Running,
        JobStatus.Succeeded => V1.JobStatus.Succeeded,
        JobStatus.Failed => V1.JobStatus.Failed,
        JobStatus.Cancelled => V1.JobStatus.Cancelled,
        _ => V1.JobStatus.Unspecified,
    };

    public static JobStatus? FromMessage(V1.JobStatus status) => status switch
    {
        V1.JobStatus.Unspecified => null,
        V1.JobStatus.Queued => JobStatus.Queued,
        V1.JobStatus.Running => JobStatus.Running,
        V1.JobStatus.Succeeded => JobStatus.Succeeded,
        V1.JobStatus.Failed => JobStatus.Failed,
        V1.JobStatus.Cancelled => JobStatus.Cancelled,
        _ => throw new DomainValidationException("status", $"is not a known job status ({(int)status})."),
    };

    public static V1.RunStatus ToMessage(RunStatus status) => status switch
    {
        RunStatus.Running => V1.RunStatus.Running,
        RunStatus.Succeeded => V1.RunStatus.Succeeded,
        RunStatus.Failed => V1.RunStatus.Failed,
        RunStatus.Cancelled => V1.RunStatus.Cancelled,
        _ => V1.RunStatus.Unspecified,
    };

    public static RunStatus? FromMessage(V1.RunStatus status) => status switch
    {
        V1.RunStatus.Unspecified => null,
        V1.RunStatus.Running => RunStatus.Running,
        V1.RunStatus.Succeeded => RunStatus.Succeeded,
        V1.RunStatus.Failed => RunStatus.Failed,
        V1.RunStatus.Cancelled => RunStatus.Cancelled,
        _ => throw new DomainValidationException("status", $"is not a known run status ({(int)status})."),
    };

    public static V1.EpochMetrics ToMessage(MetricResponse m)
    {
        var message = new V1.EpochMetrics
        {
            Epoch = m.Epoch,
            Stage = m.Stage,
            TrainLoss = m.TrainLoss,
            TrainAccuracy = m.TrainAccuracy,
            TestAccuracy = m.TestAccuracy,
            Seconds = m.Seconds,
        };
        if (m.LabelPrecision is { } precision)
        {
            message.LabelPrecision = precision;
        }
        if (m.ValidationAccuracy is { } validation)
        {
            message.ValidationAccuracy = validation;
        }
        return message;
    }

    public static V1.Job ToMessage(JobResponse j)
    {
        var message = new V1.Job
        {
            Id = j.Id.ToString(),
            Status = ToMessage(j.Status),
            DatasetId = j.DatasetId.ToString(),
            Epoch = j.Progress.Epoch,
            Epochs = j.Progress.Epochs,
            LatestMetrics = j.LatestMetrics is null ? null : ToMessage(j.LatestMetrics),
            Attempts = j.Attempts,
            CancelRequested = j.CancelRequested,
            CreatedAt = ToTimestamp(j.CreatedAt),
            StartedAt = j.StartedAt is { } started ? ToTimestamp(started) : null,
            FinishedAt = j.FinishedAt is { } finished ? ToTimestamp(finished) : null,
            SpecJson = j.Spec.GetRawText(),
        };
        if (j.Error is not null)
        {
            message.Error = j.Error;
        }
        message.RunIds.AddRange(j.RunIds.Select(r => r.ToString()));
        return message;
    }

    public static V1.Run ToMessage(RunResponse r)
    {
        var message = new V1.Run
        {
            Id = r.Id.ToString(),
            JobId = r.JobId.ToString(),
            Index = r.Index,
            Status = ToMessage(r.Status),
            StartedAt = ToTimestamp(r.StartedAt),
            FinishedAt = r.FinishedAt is { } finished ? ToTimestamp(finished) : null,
        };
        if (r.Device is not null)
        {
            message.Device = r.Device;
        }
        if (r.TestAccuracy is { } accuracy)
        {
            message.TestAccuracy = accuracy;
        }
        if (r.ShippedEpoch is { } shipped)
        {
            message.ShippedEpoch = shipped;
        }
        if (r.ModelSelection is not null)
        {
            message.ModelSelection = r.ModelSelection;
        }
        if (r.ValidationAccuracy is { } validation)
        {
            message.ValidationAccuracy = validation;
        }
        message.Metrics.AddRange(r.Metrics.Select(ToMessage));
        return message;
    }

    public static V1.Curve ToMessage(CurveResponse c)
    {
        var message = new V1.Curve { RunId = c.RunId.ToString(), Status = ToMessage(c.Status) };
        foreach (CurvePointResponse p in c.Points)
        {
            var point = new V1.CurvePoint { RankFraction = p.RankFraction, Parameters = p.Parameters, Flops = p.Flops, Accuracy = p.Accuracy };
            point.Ranks.AddRange(p.Ranks);
            if (p.SvdAccuracy is { } svdAccuracy)
            {
                point.SvdAccuracy = svdAccuracy;
            }
            if (p.SvdParameters is { } svdParameters)
            {
                point.SvdParameters = svdParameters;
            }
            message.Points.Add(point);
        }
        return message;
    }

    public static V1.ListVariantsResponse ToMessage(VariantsResponse r)
    {
        var message = new V1.ListVariantsResponse { RunId = r.RunId.ToString() };
        foreach (DeviceFrontierResponse d in r.Devices)
        {
            var device = new V1.DeviceFrontier { Device = d.Device, Batch = d.Batch };
            device.Frontier.AddRange(d.Frontier.Select(ToMessage));
            device.Variants.AddRange(d.Variants.Select(ToMessage));
            message.Devices.Add(device);
        }
        return message;
    }

    public static V1.VariantSelection ToMessage(SelectionResponse s) => new()
    {
        RunId = s.RunId.ToString(),
        Device = s.Device,
        Batch = s.Batch,
        LatencyBudgetMs = s.LatencyBudgetMs,
        Variant = ToMessage(s.Variant),
    };

    public static V1.Variant ToMessage(VariantResponse v)
    {
        var latency = new V1.Latency
        {
            Device = v.Latency.Device,
            Batch = v.Latency.Batch,
            Ms = v.Latency.Ms,
            Measured = v.Latency.Measured,
            Source = v.Latency.Source,
        };
        if (v.Latency.P90Ms is { } p90)
        {
            latency.P90Ms = p90;
        }
        if (v.Latency.Runtime is { } runtime)
        {
            latency.Runtime = runtime;
        }
        var message = new V1.Variant
        {
            RankFraction = v.RankFraction,
            Parameters = v.Parameters,
            Flops = v.Flops,
            Accuracy = v.Accuracy,
            Latency = latency,
            OnnxLink = v.Links.Onnx,
            TorchsharpLink = v.Links.TorchSharp,
        };
        message.Ranks.AddRange(v.Ranks);
        return message;
    }

    public static V1.Device ToMessage(DeviceResponse d)
    {
        var message = new V1.Device { Name = d.Name, BuiltIn = d.BuiltIn, Measurements = d.Measurements, CreatedAt = ToTimestamp(d.CreatedAt) };
        if (d.Description is not null)
        {
            message.Description = d.Description;
        }
        if (d.CpuModel is not null)
        {
            message.CpuModel = d.CpuModel;
        }
        if (d.Cores is { } cores)
        {
            message.Cores = cores;
        }
        if (d.Threads is { } threads)
        {
            message.Threads = threads;
        }
        if (d.GpuName is not null)
        {
            message.GpuName = d.GpuName;
        }
        return message;
    }

    public static V1.WorkerInfo ToMessage(WorkerResponse w)
    {
        var message = new V1.WorkerInfo
        {
            Id = w.Id,
            Host = w.Host,
            Slots = w.Slots,
            Status = w.Status,
            StartedAt = ToTimestamp(w.StartedAt),
            LastHeartbeat = w.LastHeartbeat is DateTime beat ? ToTimestamp(beat) : null,
        };
        message.Devices.AddRange(w.Devices);
        if (w.TorchSharpVersion is not null)
        {
            message.TorchsharpVersion = w.TorchSharpVersion;
        }
        if (w.LibTorchVersion is not null)
        {
            message.LibtorchVersion = w.LibTorchVersion;
        }
        foreach (WorkerJobResponse job in w.CurrentJobs)
        {
            var current = new V1.WorkerJob { StartedAt = job.StartedAt is DateTime started ? ToTimestamp(started) : null };
            if (job.JobId is Guid id)
            {
                current.JobId = id.ToString();
            }
            message.CurrentJobs.Add(current);
        }
        return message;
    }
}
