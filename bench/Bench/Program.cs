using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Bench;
using Domain.Jobs;
using Training.Engine;

// ./bench.sh noisy   --data DIR --noise sym:0.5 --epochs N --json OUT.json [--model mlp|cnn] [--seed S]
// ./bench.sh maestro --data DIR --epochs N --json OUT.json [--model mlp|cnn] [--seed S]
// Extra knobs: --batch 128 --lr 1e-3 --hidden 512,256 --methods standard,coteaching,nested-coteaching
//              --gradual TK --nested-epochs N --sigma 10 --lambda 0 --threads T --device auto|cpu|cuda
//              --train-limit N (train on the first N training samples) --sampling layer-rank|uniform-fraction
// Noisy methods: standard, coteaching, coteaching-plus, nested-coteaching, coteaching-msd, coteaching-compander, elr.
// ./bench.sh subset --data DIR --fraction 0.3 [--partitions P] [--reselect N] [--noise sym:RATE|none] --epochs E --json OUT.json
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
BenchArgs options;
try
{
    options = BenchArgs.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchArgs.Usage);
    return 2;
}

var load = Stopwatch.StartNew();
var (train, test) = IdxDataset.Load(options.Data);
if (options.TrainLimit is int limit && limit < train.Count)
{
    train = new Training.Engine.LabeledData(train.Features[..(limit * train.FeatureSize)], train.Labels[..limit], train.SampleShape, train.Classes);
}
Console.WriteLine($"data: {train.Count} train, {test.Count} test, shape [{string.Join("×", train.SampleShape)}], {train.Classes} classes ({load.Elapsed.TotalSeconds:F1} s)");
var engine = new TrainingEngine(new TrainingEngineOptions { Device = options.Device, Threads = options.Threads });
Console.WriteLine($"device: {engine.DeviceName}, torch threads: {TorchSharp.torch.get_num_threads()}");

object result = options.Mode switch
{
    "noisy" => Runs.Noisy(engine, options, train, test),
    "speed" => Speed.Run(engine, options, train, test),
    "subset" => Runs.Subset(engine, options, train, test),
    _ => Runs.Maestro(engine, options, train, test),
};
if (options.Json is not null)
{
    File.WriteAllText(options.Json, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
    Console.WriteLine($"wrote {options.Json}");
}
return 0;

internal sealed record BenchArgs(
    string Mode, string Data, string Noise, int Epochs, string? Json, string Model, int Seed, int Batch, double LearningRate,
    int[] Hidden, string[] Methods, int? Gradual, int? NestedEpochs, double Sigma, double Lambda, int Threads, string Device, int? TrainLimit, string Sampling,
    int? Warmup, string Schedule, string? Selection, int Rounds, double Fraction, int Partitions, int Reselect)
{
    public const string Usage =
        "usage: bench.sh noisy|maestro --data DIR [--noise sym:RATE|pair:RATE] [--epochs N] [--json OUT.json] [--model mlp|cnn] [--seed S]\n" +
        "       [--batch 128] [--lr 1e-3] [--hidden 512,256] [--methods standard,coteaching,nested-coteaching] [--gradual TK]\n" +
        "       (noisy --methods: standard, coteaching, coteaching-plus, nested-coteaching, coteaching-msd, coteaching-compander, elr)\n" +
        "       [--nested-epochs N] [--sigma 10] [--lambda 0] [--threads T] [--device auto|cpu|cuda] [--train-limit N]\n" +
        "       [--sampling layer-rank|uniform-fraction] [--warmup N] [--schedule none|step|cosine] [--selection last|best-validation]\n" +
        "usage: bench.sh speed --data DIR [--epochs 3] [--rounds 4] [--train-limit N] [--threads T] [--json OUT.json]\n" +
        "usage: bench.sh subset --data DIR [--fraction 0.3] [--partitions 8] [--reselect 5] [--noise sym:RATE|pair:RATE|none] [--epochs N] [--methods informative,random,all] [--json OUT.json]\n" +
        "       (co-teaching with noise, standard training without; on the informative subset, a random subset of the same size, all data)";

    public static BenchArgs Parse(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("noisy" or "maestro" or "speed" or "subset"))
        {
            throw new ArgumentException("The first argument must be 'noisy', 'maestro', 'speed' or 'subset'.");
        }
        var values = new Dictionary<string, string>();
        for (int i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Unexpected argument '{args[i]}'.");
            }
            values[args[i][2..]] = args[++i];
        }
        string Get(string key, string fallback) => values.Remove(key, out string? v) ? v : fallback;
        var parsed = new BenchArgs(
            args[0],
            Get("data", "") is { Length: > 0 } data ? data : throw new ArgumentException("--data is required."),
            // subset trains without noise (standard training) unless --noise is given.
            Get("noise", args[0] == "subset" ? "none" : "sym:0.5"),
            int.Parse(Get("epochs", "5"), CultureInfo.InvariantCulture),
            values.Remove("json", out string? json) ? json : null,
            Get("model", "mlp"),
            int.Parse(Get("seed", "1"), CultureInfo.InvariantCulture),
            int.Parse(Get("batch", "128"), CultureInfo.InvariantCulture),
            double.Parse(Get("lr", "1e-3"), CultureInfo.InvariantCulture),
            Get("hidden", "512,256").Split(',').Select(h => int.Parse(h, CultureInfo.InvariantCulture)).ToArray(),
            Get("methods", args[0] == "subset" ? "informative,random,all" : "standard,coteaching,nested-coteaching").Split(','),
            values.Remove("gradual", out string? g) ? int.Parse(g, CultureInfo.InvariantCulture) : null,
            values.Remove("nested-epochs", out string? ne) ? int.Parse(ne, CultureInfo.InvariantCulture) : null,
            double.Parse(Get("sigma", "10"), CultureInfo.InvariantCulture),
            double.Parse(Get("lambda", "0"), CultureInfo.InvariantCulture),
            int.Parse(Get("threads", "0"), CultureInfo.InvariantCulture),
            Get("device", "auto"),
            values.Remove("train-limit", out string? limit) ? int.Parse(limit, CultureInfo.InvariantCulture) : null,
            Get("sampling", new MaestroSpec().Sampling),
            values.Remove("warmup", out string? w) ? int.Parse(w, CultureInfo.InvariantCulture) : null,
            Get("schedule", new TrainingSpec().Schedule),
            values.Remove("selection", out string? sel) ? sel : null,
            int.Parse(Get("rounds", "4"), CultureInfo.InvariantCulture),
            double.Parse(Get("fraction", SubsetSpec.DefaultFraction.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture),
            int.Parse(Get("partitions", SubsetSpec.DefaultPartitions.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture),
            int.Parse(Get("reselect", SubsetSpec.DefaultReselectEvery.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture));
        if (values.Count > 0)
        {
            throw new ArgumentException($"Unknown option(s): {string.Join(", ", values.Keys.Select(k => "--" + k))}.");
        }
        if (parsed.Mode == "subset" && parsed.Methods.FirstOrDefault(m => m is not ("informative" or "random" or "all")) is { } bad)
        {
            throw new ArgumentException($"subset --methods: unknown method '{bad}' (informative, random, all).");
        }
        if (parsed.Model is not ("mlp" or "cnn"))
        {
            throw new ArgumentException("--model must be mlp or cnn.");
        }
        if (!(parsed.Mode == "subset" && parsed.Noise == "none"))
        {
            parsed.ParseNoise();
        }
        return parsed;
    }

    public NoiseSpec ParseNoise()
    {
        string[] parts = Noise.Split(':');
        string kind = parts[0] switch
        {
            "sym" or "symmetric" => NoiseKinds.Symmetric,
            "pair" => NoiseKinds.Pair,
            _ => throw new ArgumentException("--noise must be sym:RATE or pair:RATE."),
        };
        if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double rate) || rate is < 0 or >= 1)
        {
            throw new ArgumentException("--noise must be sym:RATE or pair:RATE with 0 ≤ RATE < 1.");
        }
        return new NoiseSpec { Kind = kind, Rate = rate };
    }
}
