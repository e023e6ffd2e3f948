using System.Globalization;
using Domain.Datasets;
using Domain.Jobs;
using Grpc.Core;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TrainingService.Sdk;
using V1 = TrainingService.Sdk.V1;

// Usage: dotnet run --project examples/TrainAndFetch -- [idx-folder] [grpc-address] [--budget MS] [--profile NAME] [--api-key KEY]
// Defaults: samples/fashion-mnist-small of this repository and http://localhost:5001 (the Api's Grpc:Port).
// The API key: --api-key, else TRAINING_API_KEY, else the key the embedded default wrote to src/Api/data/api-key.txt.
// --budget: latency budget in ms for the variant to fetch (default: the median latency of the run's variants
//           on the device). --profile NAME: time every variant on this machine first (device profile NAME,
//           created if missing) and select on that profile instead of the built-in one.
var positional = new List<string>();
double? budgetMs = null;
string? profileName = null;
string? apiKey = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--budget" when i + 1 < args.Length:
            budgetMs = double.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--profile" when i + 1 < args.Length:
            profileName = args[++i];
            break;
        case "--api-key" when i + 1 < args.Length:
            apiKey = args[++i];
            break;
        default:
            positional.Add(args[i]);
            break;
    }
}
string folder = positional.Count > 0 ? positional[0] : Path.Combine(RepositoryRoot(), "samples", "fashion-mnist-small");
string address = positional.Count > 1 ? positional[1] : Environment.GetEnvironmentVariable("TRAINING_GRPC") ?? "http://localhost:5001";
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

apiKey ??= Environment.GetEnvironmentVariable(TrainingClient.ApiKeyEnvironmentVariable);
string localKeyFile = Path.Combine(RepositoryRoot(), "src", "Api", "data", "api-key.txt");
if (apiKey is null && File.Exists(localKeyFile))
{
    apiKey = File.ReadAllText(localKeyFile).Trim();
    Console.WriteLine($"Using the embedded default's local API key ({localKeyFile}).");
}
using TrainingClient client = TrainingClient.Create(address, new TrainingClientOptions { ApiKey = apiKey });
Console.WriteLine($"Uploading {folder} to {address} ...");
V1.Dataset dataset = await client.Datasets.UploadIdxAsync(Path.GetFileName(Path.GetFullPath(folder)), folder,
    new Progress<UploadProgress>(p => Console.Write($"\r  {p.SentBytes / 1024} KiB sent")), cancel.Token);
Console.WriteLine($"\rDataset {dataset.Id}: {dataset.Samples} training + {dataset.TestSamples} test samples, " +
    $"{dataset.Classes} classes, shape [{string.Join(", ", dataset.Shape)}]");

var spec = new JobSpec
{
    DatasetId = Guid.Parse(dataset.Id),
    Model = new ModelSpec { Kind = "mlp", Hidden = [256, 128], MaxRank = 64 },
    Training = new TrainingSpec { Epochs = 5, BatchSize = 128, LearningRate = 0.001, Seed = 1 },
};
V1.SubmitJobResponse submitted = await client.Jobs.SubmitAsync(spec, cancellationToken: cancel.Token);
Guid jobId = Guid.Parse(submitted.Job.Id);
Console.WriteLine($"Job {jobId} submitted; Ctrl+C cancels it.");

V1.StatusChanged? last = null;
try
{
    await foreach (V1.JobEvent e in client.Jobs.WatchAsync(jobId, cancellationToken: cancel.Token))
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
    V1.Job cancelled = await client.Jobs.CancelAsync(jobId);
    Console.WriteLine($"\nCancel requested; the job is {cancelled.Status}.");
    return 1;
}

if (last?.Status != V1.JobStatus.Succeeded)
{
    Console.WriteLine($"The job ended {last?.Status}.");
    return 1;
}
Guid runId = Guid.Parse(last.RunIds[0]);
V1.Curve curve = await client.Runs.GetCurveAsync(runId, cancel.Token);
Console.WriteLine("\nAccuracy versus rank (every prefix of ranks is a working smaller model):");
Console.WriteLine("  fraction   ranks              parameters   accuracy");
foreach (V1.CurvePoint p in curve.Points)
{
    Console.WriteLine($"  {p.RankFraction,8:F4}   {"[" + string.Join(",", p.Ranks) + "]",-18} {p.Parameters,10}   {p.Accuracy,8:P1}");
}

// Latency per device: the worker measured the run on its own host (the built-in profile); --profile measures
// it on this machine and stores the table under that name.
string device;
if (profileName is not null)
{
    Console.WriteLine($"\nProfiling the run's ONNX variants on this machine as '{profileName}' ...");
    LatencyTable table = await client.Profiler.ProfileAsync(runId, profileName, new ProfileOptions
    {
        Progress = new Progress<VariantTiming>(t => Console.WriteLine($"  fraction {t.RankFraction,6:F4}  batch {t.Batch}  median {t.MedianMs:F3} ms  p90 {t.P90Ms:F3} ms")),
    }, cancel.Token);
    Console.WriteLine($"  {table.Timings.Count} latencies posted ({table.Runtime}, {table.Threads} intra-op thread(s)).");
    device = profileName;
}
else
{
    device = (await client.Devices.ListAsync(cancel.Token)).First(d => d.BuiltIn).Name;
}
V1.DeviceFrontier priced = (await client.Variants.ListAsync(runId, device, cancellationToken: cancel.Token)).Devices[0];
Console.WriteLine($"\nPareto frontier on '{device}' (batch 1):");
foreach (V1.Variant v in priced.Frontier)
{
    Console.WriteLine($"  fraction {v.RankFraction,6:F4}  {v.Latency.Ms,9:F4} ms ({v.Latency.Source})  accuracy {v.Accuracy:P1}  {v.Parameters} parameters");
}
double budget = budgetMs ?? Median(priced.Variants.Select(v => v.Latency.Ms).ToArray());

V1.VariantSelection selection;
try
{
    selection = await client.Variants.SelectAsync(runId, device, budget, cancellationToken: cancel.Token);
}
catch (RpcException ex) when (ex.StatusCode == StatusCode.OutOfRange)
{
    Console.WriteLine($"No variant fits {budget:F4} ms on '{device}'; the fastest takes {ex.FastestLatencyMs():F4} ms.");
    return 1;
}
V1.Variant chosen = selection.Variant;
Console.WriteLine($"\nBudget {budget:F4} ms on '{device}': rank fraction {chosen.RankFraction} " +
    $"({chosen.Latency.Ms:F4} ms {chosen.Latency.Source}, {chosen.Parameters} parameters, curve accuracy {chosen.Accuracy:P1}).");

string path = Path.Combine(Path.GetTempPath(), $"run-{runId:N}-rank-{chosen.RankFraction.ToString(CultureInfo.InvariantCulture)}.onnx");
V1.VariantFileSummary file = await client.Variants.FetchAsync(runId, chosen.RankFraction, path, cancellationToken: cancel.Token);
Console.WriteLine($"Downloaded {file.SizeBytes} bytes to {path} (sha256 {file.Sha256[..16]}…, verified).");

if (FindIdx(folder, "t10k-images", "test-images") is not { } imagesPath || FindIdx(folder, "t10k-labels", "test-labels") is not { } labelsPath)
{
    Console.WriteLine("The folder has no test split (t10k-*/test-*), so the download is not evaluated here.");
    return 0;
}
// IDX (raw or gzip), as the MNIST files by LeCun, Cortes and Burges and Fashion-MNIST by Zalando Research.
IdxData testImages = Idx.ReadFile(imagesPath);
byte[] labels = Idx.ReadFile(labelsPath).Data;
float[] images = testImages.ToUnitFloats();
using var session = new InferenceSession(path);
(string inputName, NodeMetadata input) = session.InputMetadata.Single();
// An MLP variant takes [batch, features], a CNN [batch, C, H, W]: the model says which.
int count = testImages.Header.Count;
var tensor = new DenseTensor<float>([count, .. input.Dimensions.Skip(1)]);
for (int i = 0; i < images.Length; i++)
{
    tensor.Buffer.Span[i] = images[i];
}
using var outputs = session.Run([NamedOnnxValue.CreateFromTensor(inputName, tensor)]);
Tensor<float> logits = outputs.Single().AsTensor<float>();
int correct = 0;
for (int n = 0; n < count; n++)
{
    int best = 0;
    for (int c = 1; c < logits.Dimensions[1]; c++)
    {
        best = logits[n, c] > logits[n, best] ? c : best;
    }
    correct += best == labels[n] ? 1 : 0;
}
Console.WriteLine($"ONNX Runtime on this machine: {(double)correct / count:P1} on {count} test images (the curve says {chosen.Accuracy:P1}).");
return 0;

static double Median(double[] values)
{
    Array.Sort(values);
    return values.Length == 0 ? 1 : values.Length % 2 == 1 ? values[values.Length / 2] : (values[values.Length / 2 - 1] + values[values.Length / 2]) / 2;
}

static string? FindIdx(string folder, params string[] prefixes) =>
    Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal)
        .FirstOrDefault(f => prefixes.Any(p => Path.GetFileName(f).StartsWith(p, StringComparison.OrdinalIgnoreCase)));

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
