using Domain.Jobs;
using TorchSharp;
using TorchSharp.Modules;
using Training.Engine;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Bench;

/// <summary>
/// <c>bench.sh speed</c>: epoch time of the engine against a minimal bare TorchSharp loop of the same model, data,
/// optimiser and batch, for standard training, co-teaching and Maestro, in one process. The two alternate for
/// several rounds and each keeps its best epoch; the ratio is bare ÷ engine (1.0 = parity, above = engine faster).
/// Both evaluate the test set once per epoch, as the engine reports it. Then RSS over 100 epochs of a small run.
/// </summary>
internal static class Speed
{
    public static object Run(TrainingEngine engine, BenchArgs options, LabeledData train, LabeledData test)
    {
        Device device = engine.DeviceName == "cpu" ? CPU : CUDA;
        int epochs = Math.Max(1, options.Epochs);
        using Tensor x = tensor(train.Features, [train.Count, train.FeatureSize], device: device);
        using Tensor y = tensor(train.Labels.Select(l => (long)l).ToArray(), device: device);
        using Tensor tx = tensor(test.Features, [test.Count, test.FeatureSize], device: device);
        using Tensor ty = tensor(test.Labels.Select(l => (long)l).ToArray(), device: device);
        var methods = new (string Name, Func<int, double> Bare, JobSpec Spec)[]
        {
            ("standard", seed => BareStandard(x, y, tx, ty, options, seed, device), Spec(options, lowRank: false)),
            ("coteaching", seed => BareCoTeaching(x, y, tx, ty, options, seed, device),
                Spec(options, lowRank: false) with { CoTeaching = new CoTeachingSpec { ForgetRate = 0.2, GradualEpochs = 1 } }),
            ("maestro", seed => BareMaestro(x, y, tx, ty, options, seed, device),
                Spec(options, lowRank: true) with { Maestro = new MaestroSpec { Sampling = MaestroSampling.UniformFraction, DenseWarmupEpochs = 0, Shrink = false } }),
        };
        var results = new List<object>();
        foreach (var (name, bare, spec) in methods)
        {
            double bareBest = double.MaxValue, engineBest = double.MaxValue;
            for (int round = 0; round < options.Rounds; round++)
            {
                for (int e = 0; e < epochs; e++)
                {
                    bareBest = Math.Min(bareBest, bare(options.Seed + e));
                }
                var observer = new TimingObserver();
                JobSpec run = spec with { Training = spec.Training with { Epochs = epochs } };
                engine.Run(new TrainingRequest(run, train, test), observer, null, CancellationToken.None);
                engineBest = Math.Min(engineBest, observer.Seconds.Min());
                Console.WriteLine($"[{name}] round {round + 1}: bare best {bareBest:F3} s, engine best {engineBest:F3} s");
            }
            double ratio = bareBest / engineBest;
            Console.WriteLine($"[{name}] ratio bare/engine = {ratio:F3}");
            results.Add(new { method = name, bareEpochSeconds = bareBest, engineEpochSeconds = engineBest, ratio });
        }

        // Memory: 100 epochs of a small co-teaching run; RSS of the first and the last epoch.
        int small = Math.Min(2000, train.Count);
        var smallTrain = new LabeledData(train.Features[..(small * train.FeatureSize)], train.Labels[..small], train.SampleShape, train.Classes);
        var rss = new TimingObserver();
        JobSpec soak = Spec(options, lowRank: true) with
        {
            Model = new ModelSpec { Kind = options.Model, Hidden = [64, 32], LowRank = true },
            Training = Spec(options, lowRank: true).Training with { Epochs = 100 },
            CoTeaching = new CoTeachingSpec { ForgetRate = 0.2, GradualEpochs = 10 },
        };
        engine.Run(new TrainingRequest(soak, smallTrain, test), rss, null, CancellationToken.None);
        double first = rss.Rss[0] / (1 << 20), last = rss.Rss[^1] / (1 << 20), peak = rss.Rss.Max() / (1 << 20);
        Console.WriteLine($"RSS over 100 epochs (co-teaching, low-rank 64-32, {small} samples): first {first:F0} MB, last {last:F0} MB, peak {peak:F0} MB, growth {(last / first - 1) * 100:F1} %");
        return new { epochs, rounds = options.Rounds, trainSamples = train.Count, results, rss = new { epochs = 100, firstMb = first, lastMb = last, peakMb = peak, growthPercent = (last / first - 1) * 100 } };
    }

    private static JobSpec Spec(BenchArgs options, bool lowRank)
    {
        JobSpec spec = Runs.BaseSpec(options, lowRank);
        return spec with { Training = spec.Training with { ModelSelection = ModelSelections.Last } };
    }

    private sealed class TimingObserver : ITrainingObserver
    {
        public List<double> Seconds { get; } = [];

        public List<double> Rss { get; } = [];

        public void OnEpochCompleted(EpochReport report, Action<Stream> writeCheckpoint)
        {
            Seconds.Add(report.Seconds);
            Rss.Add(report.Extra["rssBytes"]);
        }
    }

    // ---- the bare loops: what a user would write by hand -------------------------------------------------

    private static Sequential Mlp(int input, int[] hidden, int classes)
    {
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        int previous = input;
        for (int i = 0; i < hidden.Length; i++)
        {
            layers.Add(($"fc{i}", Linear(previous, hidden[i])));
            layers.Add(($"relu{i}", ReLU()));
            previous = hidden[i];
        }
        layers.Add(("out", Linear(previous, classes)));
        return Sequential(layers);
    }

    private static int Classes(Tensor y) => (int)y.max().item<long>() + 1;

    private static double Evaluate(Func<Tensor, Tensor> forward, Tensor tx, Tensor ty)
    {
        using var noGrad = no_grad();
        using Tensor correct = zeros(1, dtype: int64, device: tx.device);
        for (long s = 0; s < tx.shape[0]; s += 1000)
        {
            using var scope = NewDisposeScope();
            long c = Math.Min(1000, tx.shape[0] - s);
            correct.add_(forward(tx.narrow(0, s, c)).argmax(1).eq(ty.narrow(0, s, c)).sum());
        }
        return correct.item<long>() / (double)tx.shape[0];
    }

    /// <summary>
    /// One timed epoch of a bare loop: a random order on the device, a dispose scope and an index_select per batch,
    /// <paramref name="step"/> (which updates and returns the loss), one host read of the summed loss, then the evaluation.
    /// </summary>
    private static double TimedEpoch(Tensor x, Tensor y, int batch, Func<Tensor, Tensor, Tensor> step, Action evaluate)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using Tensor order = randperm(x.shape[0]).to(x.device);
        using Tensor lossSum = zeros(1, device: x.device);
        for (long s = 0; s < x.shape[0]; s += batch)
        {
            using var scope = NewDisposeScope();
            Tensor idx = order.narrow(0, s, Math.Min(batch, x.shape[0] - s));
            lossSum.add_(step(x.index_select(0, idx), y.index_select(0, idx)).detach());
        }
        _ = lossSum.item<float>();
        evaluate();
        return clock.Elapsed.TotalSeconds;
    }

    private static double BareStandard(Tensor x, Tensor y, Tensor tx, Tensor ty, BenchArgs o, int seed, Device device)
    {
        torch.manual_seed(seed);
        using Sequential model = Mlp((int)x.shape[1], o.Hidden, Classes(y));
        model.to(device);
        using var optimizer = optim.Adam(model.parameters(), o.LearningRate);
        return TimedEpoch(x, y, o.Batch, (bx, by) =>
        {
            Tensor loss = functional.cross_entropy(model.call(bx), by);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            return loss;
        }, () => Evaluate(model.call, tx, ty));
    }

    private static double BareCoTeaching(Tensor x, Tensor y, Tensor tx, Tensor ty, BenchArgs o, int seed, Device device)
    {
        torch.manual_seed(seed);
        using Sequential a = Mlp((int)x.shape[1], o.Hidden, Classes(y));
        using Sequential b = Mlp((int)x.shape[1], o.Hidden, Classes(y));
        a.to(device);
        b.to(device);
        using var optA = optim.Adam(a.parameters(), o.LearningRate);
        using var optB = optim.Adam(b.parameters(), o.LearningRate);
        return TimedEpoch(x, y, o.Batch, (bx, by) =>
        {
            Tensor la = functional.cross_entropy(a.call(bx), by, reduction: Reduction.None);
            Tensor lb = functional.cross_entropy(b.call(bx), by, reduction: Reduction.None);
            long keep = (long)Math.Floor(0.8 * bx.shape[0]);
            Tensor selA = la.detach().argsort().narrow(0, 0, keep);
            Tensor selB = lb.detach().argsort().narrow(0, 0, keep);
            Tensor lossA = la.index_select(0, selB).mean();
            Tensor lossB = lb.index_select(0, selA).mean();
            optA.zero_grad();
            lossA.backward();
            optA.step();
            optB.zero_grad();
            lossB.backward();
            optB.step();
            return lossA;
        }, () =>
        {
            Evaluate(a.call, tx, ty);
            Evaluate(b.call, tx, ty);
        });
    }

    /// <summary>A factorised MLP (V then U per hidden layer) with a full pass and an ordered-dropout pass at one uniform fraction, self-distilled.</summary>
    private static double BareMaestro(Tensor x, Tensor y, Tensor tx, Tensor ty, BenchArgs o, int seed, Device device)
    {
        torch.manual_seed(seed);
        var random = new Random(seed);
        var factors = new List<(Parameter V, Parameter U, Parameter B)>();
        int previous = (int)x.shape[1];
        foreach (int width in o.Hidden)
        {
            int rank = Math.Min(previous, width);
            factors.Add((new Parameter(randn(rank, previous, device: device) * (1.0 / Math.Sqrt(previous))),
                new Parameter(randn(width, rank, device: device) * (1.0 / Math.Sqrt(rank))),
                new Parameter(zeros(width, device: device))));
            previous = width;
        }
        using var head = Linear(previous, Classes(y));
        head.to(device);
        var parameters = factors.SelectMany(f => new[] { f.V, f.U, f.B }).Concat(head.parameters()).ToList();
        using var optimizer = optim.Adam(parameters, o.LearningRate);
        Tensor Forward(Tensor input, double fraction)
        {
            Tensor h = input;
            foreach (var (v, u, b) in factors)
            {
                int r = Math.Max(1, (int)Math.Ceiling(fraction * v.shape[0]));
                h = functional.relu(functional.linear(functional.linear(h, v.narrow(0, 0, r)), u.narrow(1, 0, r), b));
            }
            return head.call(h);
        }
        double seconds = TimedEpoch(x, y, o.Batch, (bx, by) =>
        {
            Tensor full = Forward(bx, 1.0);
            Tensor sampled = Forward(bx, 1.0 - random.NextDouble());
            Tensor teacher = functional.softmax(full.detach(), 1);
            Tensor loss = functional.cross_entropy(full, by) - (teacher * functional.log_softmax(sampled, 1)).sum(1).mean();
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            return loss;
        }, () => Evaluate(t => Forward(t, 1.0), tx, ty));
        foreach (var (v, u, b) in factors)
        {
            v.Dispose();
            u.Dispose();
            b.Dispose();
        }
        return seconds;
    }
}
