using System.Diagnostics;
using Domain.Jobs;
using Training.Engine;

namespace Bench;

/// <summary>The two benchmark commands of issue 3; accuracies are on the clean test labels.</summary>
internal static class Runs
{
    public static object Noisy(TrainingEngine engine, BenchArgs options, LabeledData train, LabeledData test)
    {
        NoiseSpec noise = options.ParseNoise();
        // Han et al. use T_k = 10 (of 200 epochs); runs shorter than 20 epochs ramp over half of them so τ is reached.
        int gradual = options.Gradual ?? Math.Clamp(options.Epochs / 2, 1, 10);
        var results = new List<object>();
        Console.WriteLine($"noisy: {options.Noise}, {options.Epochs} epochs, model {options.Model} {string.Join("-", options.Hidden)}, T_k = {gradual}");
        foreach (string method in options.Methods)
        {
            // The noisy-label recipes train dense networks, as in Han et al. 2018 and Chen et al. 2021.
            JobSpec spec = BaseSpec(options, lowRank: false) with { Noise = noise };
            spec = method switch
            {
                "standard" => spec,
                "coteaching" => spec with { CoTeaching = new CoTeachingSpec { GradualEpochs = gradual } },
                "coteaching-plus" => spec with { CoTeaching = new CoTeachingSpec { GradualEpochs = gradual, Plus = true } },
                // Co-teaching whose small-loss ranking and loss are multi-sample dropout's K-mean (Inoue 2019; K = 8, p = 0.5).
                "coteaching-msd" => spec with { CoTeaching = new CoTeachingSpec { GradualEpochs = gradual }, MultiSampleDropout = new MultiSampleDropoutSpec() },
                // Standard training + ELR at the authors' setting for the noise kind (β 0.9, λ 1 for pair; 0.7, 3 for symmetric).
                "elr" => spec with { Elr = ElrSpec.ForNoise(noise.Kind) },
                // Co-teaching with the weight compander (unverified form w = a·tanh(b·θ/a), defaults) on both networks.
                "coteaching-compander" => spec with { CoTeaching = new CoTeachingSpec { GradualEpochs = gradual }, Compander = new CompanderSpec() },
                // Co-teaching with ELR on each network's selected samples.
                "coteaching-elr" => spec with { CoTeaching = new CoTeachingSpec { GradualEpochs = gradual }, Elr = ElrSpec.ForNoise(noise.Kind) },
                // Nested dropout, then co-teaching with multi-sample dropout (Chen et al. 2021's recipe + Inoue 2019).
                "nested-coteaching-msd" => spec with
                {
                    NestedDropout = new NestedDropoutSpec { Sigma = options.Sigma, StageEpochs = options.NestedEpochs ?? options.Epochs },
                    CoTeaching = new CoTeachingSpec { GradualEpochs = gradual },
                    MultiSampleDropout = new MultiSampleDropoutSpec(),
                },
                "nested-coteaching" => spec with
                {
                    NestedDropout = new NestedDropoutSpec { Sigma = options.Sigma, StageEpochs = options.NestedEpochs ?? options.Epochs },
                    CoTeaching = new CoTeachingSpec { GradualEpochs = gradual },
                },
                _ => throw new ArgumentException($"Unknown method '{method}'."),
            };
            if (options.Selection is not null)
            {
                spec = spec with { Training = spec.Training with { ModelSelection = options.Selection } };
            }
            var (reports, outcome, seconds) = Train(engine, spec, train, test, method);
            // Nested + co-teaching: the best accuracy and precision are those of the co-teaching stage's network.
            var scored = method == "nested-coteaching" ? reports.Where(r => r.Stage.StartsWith("co-teaching", StringComparison.Ordinal)).ToList() : reports;
            results.Add(new
            {
                method,
                noise = options.Noise,
                // The model the service ships (chosen on the noisy validation split unless --selection last).
                finalAccuracy = outcome.TestAccuracy,
                lastEpochAccuracy = scored[^1].TestAccuracy,
                bestAccuracy = scored.Max(r => r.TestAccuracy),
                labelPrecision = scored[^1].LabelPrecision,
                modelSelection = outcome.ModelSelection,
                shippedEpoch = outcome.ShippedEpoch,
                validationAccuracy = outcome.ValidationAccuracy,
                precisionPerEpoch = reports.Select(r => r.LabelPrecision).ToArray(),
                testAccuracyPerEpoch = reports.Select(r => r.TestAccuracy).ToArray(),
                secondsPerEpoch = reports.Select(r => r.Seconds).ToArray(),
                seconds,
                epochs = reports.Count,
                rssFirstEpochMb = reports[0].Extra["rssBytes"] / (1 << 20),
                rssLastEpochMb = reports[^1].Extra["rssBytes"] / (1 << 20),
            });
        }
        Console.WriteLine();
        Console.WriteLine($"| method | noise | final acc (shipped epoch) | last epoch acc | best acc | label precision | seconds |");
        Console.WriteLine($"|---|---|---|---|---|---|---|");
        foreach (dynamic r in results)
        {
            Console.WriteLine($"| {r.method} | {r.noise} | {r.finalAccuracy:F4} ({r.shippedEpoch}) | {r.lastEpochAccuracy:F4} | {r.bestAccuracy:F4} | {r.labelPrecision:F4} | {r.seconds:F0} |");
        }
        return new { results };
    }

    public static object Maestro(TrainingEngine engine, BenchArgs options, LabeledData train, LabeledData test)
    {
        JobSpec spec = BaseSpec(options, lowRank: true) with
        {
            Maestro = new MaestroSpec { GroupLasso = options.Lambda, Sampling = options.Sampling, DenseWarmupEpochs = options.Warmup },
            Sweep = new SweepSpec { SvdBaseline = true },
        };
        Console.WriteLine($"maestro: {options.Epochs} epochs (dense warm-up {spec.EffectiveDenseWarmupEpochs}), model {options.Model} {string.Join("-", options.Hidden)}, λ = {options.Lambda}, sampling {options.Sampling}, schedule {options.Schedule}; then the dense baseline ({options.Epochs} epochs)");
        var (reports, outcome, seconds) = Train(engine, spec, train, test, "maestro");
        var points = outcome.Curve.Select(p => new
        {
            rankFraction = p.RankFraction,
            ranks = p.Ranks,
            parameters = p.Parameters,
            flops = p.Flops,
            accuracy = p.Accuracy,
            svdAccuracy = p.SvdAccuracy,
            svdParameters = p.SvdParameters,
        }).ToList();
        Console.WriteLine();
        Console.WriteLine("| rank fraction | ranks | parameters | Maestro acc | post-hoc SVD acc |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var p in points)
        {
            Console.WriteLine($"| {p.rankFraction:0.####} | {string.Join("/", p.ranks)} | {p.parameters} | {p.accuracy:F4} | {p.svdAccuracy:F4} |");
        }
        Console.WriteLine($"dense baseline accuracy: {outcome.DenseAccuracy:F4}; low-rank full-rank accuracy: {outcome.TestAccuracy:F4}");
        return new
        {
            points,
            denseAccuracy = outcome.DenseAccuracy,
            warmupEpochs = spec.EffectiveDenseWarmupEpochs,
            sampling = options.Sampling,
            schedule = options.Schedule,
            seed = options.Seed,
            trainSamples = train.Count,
            lowRankAccuracy = outcome.TestAccuracy,
            seconds,
            // Wall time of the ordered model's whole recipe (warm-up included) and of the dense baseline.
            recipeSeconds = reports.Where(r => r.Stage != "dense-baseline").Sum(r => r.Seconds),
            baselineSeconds = reports.Where(r => r.Stage == "dense-baseline").Sum(r => r.Seconds),
            rssFirstEpochMb = reports[0].Extra["rssBytes"] / (1 << 20),
            rssLastEpochMb = reports[^1].Extra["rssBytes"] / (1 << 20),
        };
    }

    /// <summary>
    /// Issue 10's subset contract: the same recipe (co-teaching under --noise, standard training without) on the
    /// informative subset (facility location, INGENIOUS), on a random subset of the same size (the part's
    /// <c>random</c> mode: same warm start, same re-selection epochs) and on all data. <c>trainSeconds</c> is the sum of the
    /// epochs' wall times (each includes its test evaluation) minus the selection; <c>selectionSeconds</c> is the time
    /// spent choosing subsets (features, similarities, greedy), reported by the part per epoch.
    /// </summary>
    public static object Subset(TrainingEngine engine, BenchArgs options, LabeledData train, LabeledData test)
    {
        NoiseSpec? noise = options.Noise == "none" ? null : options.ParseNoise();
        int gradual = options.Gradual ?? Math.Clamp(options.Epochs / 2, 1, 10);
        string recipe = noise is null ? "standard" : $"co-teaching (T_k = {gradual})";
        Console.WriteLine($"subset: {recipe}, noise {options.Noise}, fraction {options.Fraction}, partitions {options.Partitions}, reselect every {options.Reselect}, "
            + $"{options.Epochs} epochs, model {options.Model} {string.Join("-", options.Hidden)}");
        var results = new List<object>();
        foreach (string method in options.Methods)
        {
            JobSpec spec = BaseSpec(options, lowRank: false) with { Noise = noise };
            if (noise is not null)
            {
                spec = spec with { CoTeaching = new CoTeachingSpec { GradualEpochs = gradual } };
            }
            if (method != "all")
            {
                spec = spec with
                {
                    Subset = new SubsetSpec
                    {
                        Fraction = options.Fraction,
                        Partitions = options.Partitions,
                        ReselectEvery = options.Reselect,
                        Mode = method == "random" ? SubsetModes.Random : SubsetModes.Informative,
                    },
                };
            }
            if (options.Selection is not null)
            {
                spec = spec with { Training = spec.Training with { ModelSelection = options.Selection } };
            }
            var (reports, outcome, seconds) = Train(engine, spec, train, test, method);
            double selectionSeconds = reports.Sum(r => r.Extra.GetValueOrDefault("selectionSeconds"));
            double trainSeconds = reports.Sum(r => r.Seconds) - selectionSeconds;
            results.Add(new
            {
                method,
                recipe,
                noise = options.Noise,
                fraction = method == "all" ? 1 : options.Fraction,
                subsetSize = reports[^1].Extra.GetValueOrDefault("subsetSize", train.Count),
                partitions = reports[^1].Extra.GetValueOrDefault("subsetPartitions"),
                reselectEvery = options.Reselect,
                finalAccuracy = outcome.TestAccuracy,
                lastEpochAccuracy = reports[^1].TestAccuracy,
                bestAccuracy = reports.Max(r => r.TestAccuracy),
                labelPrecision = reports[^1].LabelPrecision,
                modelSelection = outcome.ModelSelection,
                shippedEpoch = outcome.ShippedEpoch,
                trainSeconds,
                selectionSeconds,
                selectionShare = selectionSeconds / Math.Max(trainSeconds, 1e-9),
                seconds,
                epochs = reports.Count,
                testAccuracyPerEpoch = reports.Select(r => r.TestAccuracy).ToArray(),
                selectionSecondsPerEpoch = reports.Select(r => r.Extra.GetValueOrDefault("selectionSeconds")).ToArray(),
            });
        }
        Console.WriteLine();
        Console.WriteLine("| method | recipe | samples/epoch | final acc (shipped epoch) | best acc | train s | selection s |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (dynamic r in results)
        {
            Console.WriteLine($"| {r.method} | {r.recipe} | {r.subsetSize:F0} | {r.finalAccuracy:F4} ({r.shippedEpoch}) | {r.bestAccuracy:F4} | {r.trainSeconds:F1} | {r.selectionSeconds:F2} |");
        }
        return new { results };
    }

    internal static JobSpec BaseSpec(BenchArgs options, bool lowRank) => new()
    {
        DatasetId = Guid.NewGuid(),
        Model = new ModelSpec { Kind = options.Model, Hidden = options.Hidden, LowRank = lowRank },
        Training = new TrainingSpec
        {
            Epochs = options.Epochs,
            BatchSize = options.Batch,
            LearningRate = options.LearningRate,
            Seed = options.Seed,
            Optimizer = Optimizers.Adam,
            Schedule = options.Schedule,
        },
    };

    private static (List<EpochReport> Reports, TrainingOutcome Outcome, double Seconds) Train(TrainingEngine engine, JobSpec spec, LabeledData train, LabeledData test, string label)
    {
        var errors = spec.Validate(train.SampleShape, train.Classes);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors.Select(e => $"{e.Field} {e.Message}")));
        }
        var observer = new ConsoleObserver(label);
        var clock = Stopwatch.StartNew();
        TrainingOutcome outcome = engine.Run(new TrainingRequest(spec, train, test), observer, null, CancellationToken.None);
        return (observer.Reports, outcome, clock.Elapsed.TotalSeconds);
    }

    private sealed class ConsoleObserver(string label) : ITrainingObserver
    {
        public List<EpochReport> Reports { get; } = [];

        public void OnEpochCompleted(EpochReport r, Action<Stream> writeCheckpoint)
        {
            Reports.Add(r);
            string precision = r.LabelPrecision is double p ? $" precision {p:F4}" : "";
            Console.WriteLine($"[{label}] epoch {r.Epoch}/{r.Epochs} {r.Stage}: loss {r.TrainLoss:F4} train {r.TrainAccuracy:F4} test {r.TestAccuracy:F4}{precision} ({r.Seconds:F1} s, RSS {r.Extra["rssBytes"] / (1 << 20):F0} MB)");
        }
    }
}
