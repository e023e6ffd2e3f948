using Domain.Jobs;
using TrainingService.Sdk;
using V1 = TrainingService.Sdk.V1;

// Usage: dotnet run --project examples/TrainAndFetch -- [idx-folder] [grpc-address]
// Defaults: samples/fashion-mnist-small of this repository and http://localhost:5001 (the Api's Grpc:Port).
string folder = args.Length > 0 ? args[0] : Path.Combine(RepositoryRoot(), "samples", "fashion-mnist-small");
string address = args.Length > 1 ? args[1] : Environment.GetEnvironmentVariable("TRAINING_GRPC") ?? "http://localhost:5001";
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

using TrainingClient client = TrainingClient.Create(address);
Console.WriteLine($"Uploading {folder} to {address} ...");
V1.Dataset dataset = await client.UploadDatasetAsync(Path.GetFileName(Path.GetFullPath(folder)), folder,
    new Progress<UploadProgress>(p => Console.Write($"\r  {p.SentBytes / 1024} KiB sent")), cancel.Token);
Console.WriteLine($"\rDataset {dataset.Id}: {dataset.Samples} training + {dataset.TestSamples} test samples, " +
    $"{dataset.Classes} classes, shape [{string.Join(", ", dataset.Shape)}]");

var spec = new JobSpec
{
    DatasetId = Guid.Parse(dataset.Id),
    Model = new ModelSpec { Kind = "mlp", Hidden = [256, 128], MaxRank = 64 },
    Training = new TrainingSpec { Epochs = 5, BatchSize = 128, LearningRate = 0.001, Seed = 1 },
};
V1.SubmitJobResponse submitted = await client.SubmitJobAsync(spec, cancellationToken: cancel.Token);
Guid jobId = Guid.Parse(submitted.Job.Id);
Console.WriteLine($"Job {jobId} submitted; Ctrl+C cancels it.");

V1.StatusChanged? last = null;
try
{
    await foreach (V1.JobEvent e in client.WatchJobAsync(jobId, cancellationToken: cancel.Token))
    {
        if (e.StatusChanged is { } status)
        {
            last = status;
            Console.WriteLine($"\n  {status.Status}{(status.HasError ? ": " + status.Error : "")}");
        }
        else if (e.EpochCompleted is { } epoch)
        {
            V1.EpochMetrics m = epoch.Metrics;
            Console.Write($"\r  {Bar(m.Epoch, epoch.Epochs)} epoch {m.Epoch}/{epoch.Epochs}  loss {m.TrainLoss:F4}  " +
                $"train {m.TrainAccuracy:P1}  test {m.TestAccuracy:P1}{(m.HasLabelPrecision ? $"  label precision {m.LabelPrecision:P1}" : "")}");
        }
    }
}
catch (OperationCanceledException)
{
    V1.Job cancelled = await client.CancelJobAsync(jobId);
    Console.WriteLine($"\nCancel requested; the job is {cancelled.Status}.");
    return 1;
}

if (last?.Status != V1.JobStatus.Succeeded)
{
    Console.WriteLine($"The job ended {last?.Status}.");
    return 1;
}
V1.Curve curve = await client.GetCurveAsync(Guid.Parse(last.RunIds[0]));
Console.WriteLine("\nAccuracy versus rank (every prefix of ranks is a working smaller model):");
Console.WriteLine("  fraction   ranks              parameters   accuracy");
foreach (V1.CurvePoint p in curve.Points)
{
    Console.WriteLine($"  {p.RankFraction,8:F4}   {"[" + string.Join(",", p.Ranks) + "]",-18} {p.Parameters,10}   {p.Accuracy,8:P1}");
}
// Choosing and downloading a variant (a cut of this run at a budget) comes with the variants gRPC operations.
Console.WriteLine("Fetching a variant through the SDK is not available yet (the variants gRPC operations come later); use the REST variants API meanwhile.");
return 0;

static string Bar(int done, int total, int width = 30)
{
    int filled = total == 0 ? 0 : (int)Math.Round(width * (double)done / total);
    return "[" + new string('#', filled) + new string('-', width - filled) + "]";
}

static string RepositoryRoot()
{
    for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Service.sln")))
        {
            return dir.FullName;
        }
    }
    return Directory.GetCurrentDirectory();
}
