using System.Diagnostics;
using Domain.Common;
using Domain.Jobs;
using TorchSharp;
using TorchSharp.Modules;
using Training.Methods;
using Training.Modules;
using static TorchSharp.torch;

namespace Training.Engine;

/// <summary>The stages a job runs, in order; epochs count from 1 across all of them.</summary>
internal enum StageKind
{
    /// <summary>Standard or Maestro training of one network.</summary>
    Train,

    /// <summary>Nested dropout on the penultimate features (of both networks when co-teaching follows).</summary>
    Nested,

    /// <summary>Co-teaching (or co-teaching+) of two networks.</summary>
    CoTeaching,

    /// <summary>The dense baseline of the same architecture, for the post-hoc SVD comparison.</summary>
    DenseBaseline,
}

internal sealed record Stage(StageKind Kind, string Name, int Epochs, int FirstEpoch);

/// <summary>
/// One run of <see cref="TrainingEngine.Run"/>: the data on the device, the networks and their optimisers.
/// Every per-epoch random draw comes from (seed, epoch), so a checkpoint needs only weights, optimiser state,
/// active ranks, the chosen nested-dropout K and the epoch.
/// </summary>
internal sealed class TrainingSession : IDisposable
{
    private const int EvalBatch = 1000;

    private readonly JobSpec _spec;
    private readonly MaestroSpec _maestro;
    private readonly Device _device;
    private readonly List<Stage> _stages = [];
    private readonly int _totalEpochs;
    private readonly ClassifierNetwork[] _nets;
    private readonly optim.Optimizer[] _optimizers;
    private readonly ClassifierNetwork? _dense;
    private readonly optim.Optimizer? _denseOptimizer;
    private readonly Tensor _trainX;
    private readonly Tensor _trainY;
    private readonly Tensor _trainClean;
    private readonly Tensor? _valX;
    private readonly Tensor? _valY;
    private readonly Tensor _testX;
    private readonly Tensor _testY;
    private readonly bool _reportPrecision;
    private readonly NestedDropout? _nested;
    private int _epochsDone;

    public TrainingSession(TrainingRequest request, Device device)
    {
        _spec = request.Spec;
        _maestro = _spec.EffectiveMaestro;
        _device = device;
        LabeledData train = request.Train;
        int seed = _spec.Training.Seed;
        if (request.Test.Classes != train.Classes || request.Test.FeatureSize != train.FeatureSize)
        {
            throw new ArgumentException("Train and test data must have the same sample shape and classes.", nameof(request));
        }
        // The whole-spec rules (dataset id aside: the engine receives the data itself).
        var errors = _spec.Validate(train.SampleShape, train.Classes).Where(e => e.Field != "datasetId").ToList();
        if (errors.Count > 0)
        {
            throw new DomainValidationException(errors);
        }

        int[] noisy = _spec.Noise is { Rate: > 0 } noise
            ? LabelNoise.Apply(train.Labels, train.Classes, noise, seed)
            : train.Labels;
        _reportPrecision = _spec.Noise is not null || _spec.CoTeaching is not null;

        // Nested dropout holds out a validation split of the (noisy) training set to choose K.
        int[] trainIdx = Enumerable.Range(0, train.Count).ToArray();
        int[] valIdx = [];
        if (_spec.NestedDropout is { } nd)
        {
            Shuffle(trainIdx, new Random(Seeds.Derive(seed, Seeds.Split)));
            int valCount = Math.Clamp((int)(nd.ValidationFraction * train.Count), 1, train.Count - 1);
            valIdx = trainIdx[..valCount];
            trainIdx = trainIdx[valCount..];
            Array.Sort(valIdx);
            Array.Sort(trainIdx);
        }
        _trainX = Rows(train, trainIdx);
        _trainY = tensor(trainIdx.Select(i => (long)noisy[i]).ToArray(), device: _device);
        _trainClean = tensor(trainIdx.Select(i => noisy[i] == train.Labels[i]).ToArray(), device: _device);
        if (valIdx.Length > 0)
        {
            _valX = Rows(train, valIdx);
            _valY = tensor(valIdx.Select(i => (long)noisy[i]).ToArray(), device: _device);
        }
        _testX = tensor(request.Test.Features, [request.Test.Count, request.Test.FeatureSize], device: _device);
        _testY = tensor(request.Test.Labels.Select(l => (long)l).ToArray(), device: _device);

        // Stages: [nested] → [co-teaching | train] → [dense baseline].
        int epochs = _spec.Training.Epochs;
        if (_spec.NestedDropout is { } nested)
        {
            AddStage(StageKind.Nested, "nested-dropout", _spec.CoTeaching is null ? epochs : nested.StageEpochs ?? epochs);
        }
        if (_spec.CoTeaching is not null)
        {
            AddStage(StageKind.CoTeaching, _spec.CoTeaching.Plus ? "co-teaching-plus" : "co-teaching", epochs);
        }
        else if (_spec.NestedDropout is null)
        {
            AddStage(StageKind.Train, _spec.Model.LowRank && _maestro.OrderedDropout ? "maestro" : "standard", epochs);
        }
        bool denseBaseline = _spec.EffectiveSweep.SvdBaseline && _spec.Model.LowRank;
        if (denseBaseline)
        {
            AddStage(StageKind.DenseBaseline, "dense-baseline", epochs);
        }
        _totalEpochs = _stages.Sum(s => s.Epochs);

        int netCount = _spec.CoTeaching is null ? 1 : 2;
        _nets = new ClassifierNetwork[netCount];
        _optimizers = new optim.Optimizer[netCount];
        for (int i = 0; i < netCount; i++)
        {
            // Co-teaching's two networks differ only by their initialisation seed (Han et al. 2018).
            _nets[i] = NewNetwork(_spec.Model, train, Seeds.Derive(seed, Seeds.Init, i));
            _optimizers[i] = NewOptimizer(_nets[i]);
        }
        if (denseBaseline)
        {
            _dense = NewNetwork(_spec.Model with { LowRank = false, MaxRank = null }, train, Seeds.Derive(seed, Seeds.Init, 100));
            _denseOptimizer = NewOptimizer(_dense);
        }
        if (_spec.NestedDropout is { } n)
        {
            _nested = new NestedDropout(_nets[0].FeatureCount, n.Sigma);
        }
    }

    public TrainingOutcome Run(ITrainingObserver observer, Stream? resumeFrom, CancellationToken cancellationToken)
    {
        if (resumeFrom is not null)
        {
            Checkpoint.Read(resumeFrom, this);
        }
        while (_epochsDone < _totalEpochs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Stage stage = _stages.Last(s => s.FirstEpoch <= _epochsDone);
            int epochInStage = _epochsDone - stage.FirstEpoch;
            EpochReport report = RunEpoch(stage, epochInStage, cancellationToken);
            _epochsDone++;
            if (epochInStage + 1 == stage.Epochs && stage.Kind == StageKind.Nested)
            {
                // End of the nested stage: fix each network's best K (chosen on the validation split).
                foreach (ClassifierNetwork net in _nets)
                {
                    net.FeatureTruncation = SelectBestK(net).K;
                }
            }
            observer.OnEpochCompleted(report, stream => Checkpoint.Write(stream, this));
        }
        cancellationToken.ThrowIfCancellationRequested();
        return Finish();
    }

    // ---- checkpoint access -------------------------------------------------------------------------------

    internal int EpochsDone { get => _epochsDone; set => _epochsDone = value; }

    internal int TotalEpochs => _totalEpochs;

    internal IReadOnlyList<ClassifierNetwork> Networks => _nets;

    internal IReadOnlyList<optim.Optimizer> Optimizers => _optimizers;

    internal ClassifierNetwork? Dense => _dense;

    internal optim.Optimizer? DenseOptimizer => _denseOptimizer;

    internal string Fingerprint =>
        $"{_spec.Model.Kind}|{string.Join(",", _spec.Model.Hidden)}|{_spec.Model.LowRank}|{_spec.Model.MaxRank}|{_nets.Length}|{_dense is not null}|{_totalEpochs}|{_spec.Training.Seed}|{_spec.Training.Optimizer}";

    // ---- epochs ------------------------------------------------------------------------------------------

    private EpochReport RunEpoch(Stage stage, int epochInStage, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        int seed = _spec.Training.Seed;
        torch.manual_seed(Seeds.Derive(seed, Seeds.Epoch, _epochsDone));
        var random = new Random(Seeds.Derive(seed, Seeds.Epoch, _epochsDone, 1));
        double lr = LearningRateSchedule.At(_spec.Training, epochInStage, stage.Epochs);

        bool denseStage = stage.Kind == StageKind.DenseBaseline;
        // The nested stage trains every network (both co-teaching peers when stage 2 follows); plain training has one.
        bool allNets = stage.Kind is StageKind.CoTeaching or StageKind.Nested;
        ClassifierNetwork[] nets = denseStage ? [_dense!] : allNets ? _nets : [_nets[0]];
        optim.Optimizer[] optimizers = denseStage ? [_denseOptimizer!] : allNets ? _optimizers : [_optimizers[0]];
        foreach (optim.Optimizer optimizer in optimizers)
        {
            foreach (var group in optimizer.ParamGroups)
            {
                group.LearningRate = lr;
            }
        }
        foreach (ClassifierNetwork net in nets)
        {
            net.train();
        }

        double forgetRate = 0;
        bool plus = false;
        if (stage.Kind == StageKind.CoTeaching)
        {
            CoTeachingSpec ct = _spec.CoTeaching!;
            forgetRate = CoTeaching.ForgetRate(epochInStage, ct.EffectiveForgetRate(_spec.Noise), ct.GradualEpochs, ct.Exponent);
            plus = ct.Plus && epochInStage >= ct.PlusStartEpoch;
        }

        int n = (int)_trainX.shape[0];
        int batch = Math.Min(_spec.Training.BatchSize, n);
        int[] order = Enumerable.Range(0, n).ToArray();
        Shuffle(order, random);
        double lossSum = 0, correct = 0, seen = 0, selected = 0, selectedClean = 0;
        for (int start = 0; start < n; start += batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            int count = Math.Min(batch, n - start);
            Tensor idx = tensor(order.AsSpan(start, count).ToArray().Select(i => (long)i).ToArray(), device: _device);
            Tensor x = _trainX.index_select(0, idx);
            Tensor y = _trainY.index_select(0, idx);
            Tensor clean = _trainClean.index_select(0, idx);

            if (stage.Kind == StageKind.CoTeaching)
            {
                var (l1, full1) = FullPass(_nets[0], x, y, stage, random);
                var (l2, full2) = FullPass(_nets[1], x, y, stage, random);
                var (sel1, sel2) = plus
                    ? CoTeaching.Disagreement(full1, full2, l1, l2, forgetRate)
                    : CoTeaching.SmallLoss(l1, l2, CoTeaching.Keep(count, forgetRate));
                // Each network learns from the samples its peer judged clean.
                Tensor loss1 = Objective(_nets[0], x, y, full1, l1, sel2, stage, random);
                Tensor loss2 = Objective(_nets[1], x, y, full2, l2, sel1, stage, random);
                Step(_optimizers[0], loss1);
                Step(_optimizers[1], loss2);
                lossSum += loss1.item<float>() * count;
                correct += full1.argmax(1).eq(y).sum().item<long>();
                selected += sel1.shape[0] + sel2.shape[0];
                selectedClean += clean.index_select(0, sel1).sum().item<long>() + clean.index_select(0, sel2).sum().item<long>();
            }
            else
            {
                for (int i = 0; i < nets.Length; i++)
                {
                    var (perSample, full) = FullPass(nets[i], x, y, stage, random);
                    Tensor loss = Objective(nets[i], x, y, full, perSample, null, stage, random);
                    Step(optimizers[i], loss);
                    if (i == 0)
                    {
                        lossSum += loss.item<float>() * count;
                        correct += full.argmax(1).eq(y).sum().item<long>();
                    }
                }
                selected += count;
                selectedClean += clean.sum().item<long>();
            }
            seen += count;
        }

        var extra = new Dictionary<string, double> { ["learningRate"] = lr };
        if (stage.Kind == StageKind.CoTeaching)
        {
            extra["forgetRate"] = forgetRate;
        }
        foreach (ClassifierNetwork net in nets)
        {
            ShrinkRanks(net);
        }
        if (!denseStage && _nets[0].IsLowRank)
        {
            extra["parameters"] = _nets[0].ParameterCount();
            IReadOnlyList<IFactorizedLayer> layers = _nets[0].Factorized;
            for (int l = 0; l < layers.Count; l++)
            {
                extra[$"rank{l}"] = layers[l].ActiveRank;
            }
        }

        double testAccuracy;
        if (stage.Kind == StageKind.Nested)
        {
            // Report the network as it would be deployed now: truncated at the K that validation prefers.
            var (k, validation) = SelectBestK(nets[0]);
            int? previous = nets[0].FeatureTruncation;
            nets[0].FeatureTruncation = k;
            testAccuracy = Accuracy(nets[0], _testX, _testY);
            nets[0].FeatureTruncation = previous;
            extra["bestK"] = k;
            extra["validationAccuracy"] = validation;
        }
        else
        {
            testAccuracy = Accuracy(nets[0], _testX, _testY);
        }
        if (stage.Kind == StageKind.CoTeaching)
        {
            extra["testAccuracy2"] = Accuracy(_nets[1], _testX, _testY);
        }
        extra["rssBytes"] = Environment.WorkingSet;

        return new EpochReport(
            _epochsDone + 1,
            _totalEpochs,
            stage.Name,
            lossSum / Math.Max(1, seen),
            correct / Math.Max(1, seen),
            testAccuracy,
            _reportPrecision ? selectedClean / Math.Max(1, selected) : null,
            clock.Elapsed.TotalSeconds,
            extra);
    }

    /// <summary>The full pass (active ranks): per-sample cross-entropy for selection and the logits, both attached to the graph.</summary>
    private (Tensor PerSample, Tensor Logits) FullPass(ClassifierNetwork net, Tensor x, Tensor y, Stage stage, Random random)
    {
        net.SetTruncation(null);
        if (stage.Kind == StageKind.Nested)
        {
            // One k per mini-batch, shared by the full and sampled passes of this step.
            net.FeatureTruncation = _nested!.Sample(random);
        }
        Tensor logits = net.call(x);
        Tensor perSample = nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.None);
        return (perSample, logits);
    }

    /// <summary>
    /// The training objective on the selected samples (all when <paramref name="selection"/> is null).
    /// Maestro (Horváth et al. 2024): CE of the full pass + CE of an ordered-dropout pass against the full pass's
    /// detached softmax + λ·hierarchical group lasso; without self-distillation, the sampled pass on hard labels.
    /// </summary>
    private Tensor Objective(ClassifierNetwork net, Tensor x, Tensor y, Tensor full, Tensor perSample, Tensor? selection, Stage stage, Random random)
    {
        Tensor xs = selection is null ? x : x.index_select(0, selection);
        Tensor ys = selection is null ? y : y.index_select(0, selection);
        Tensor fulls = selection is null ? full : full.index_select(0, selection);
        Tensor fullLoss = (selection is null ? perSample : perSample.index_select(0, selection)).mean();
        bool maestro = net.IsLowRank && stage.Kind != StageKind.DenseBaseline;
        if (!maestro || !_maestro.OrderedDropout)
        {
            return maestro && _maestro.GroupLasso > 0 ? fullLoss + _maestro.GroupLasso * GroupLasso.Penalty(net.Factorized) : fullLoss;
        }
        int[] ranks = OrderedDropoutSampler.Sample(net.Factorized.Select(l => l.ActiveRank).ToList(), _maestro.Sampling, random);
        net.SetTruncation(ranks);
        Tensor sampled = net.call(xs);
        net.SetTruncation(null);
        Tensor loss;
        if (_maestro.SelfDistillation)
        {
            Tensor teacher = nn.functional.softmax(fulls.detach(), 1);
            Tensor distill = -(teacher * nn.functional.log_softmax(sampled, 1)).sum(1).mean();
            loss = fullLoss + distill;
        }
        else
        {
            loss = nn.functional.cross_entropy(sampled, ys);
        }
        if (_maestro.GroupLasso > 0)
        {
            loss = loss + _maestro.GroupLasso * GroupLasso.Penalty(net.Factorized);
        }
        return loss;
    }

    private static void Step(optim.Optimizer optimizer, Tensor loss)
    {
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }

    /// <summary>Maestro's progressive shrinking: drop ranks whose importance in_k·out_k fell below the threshold.</summary>
    private void ShrinkRanks(ClassifierNetwork net)
    {
        if (!net.IsLowRank || !_maestro.Shrink || net == _dense)
        {
            return;
        }
        foreach (IFactorizedLayer layer in net.Factorized)
        {
            layer.ActiveRank = Math.Min(layer.ActiveRank, GroupLasso.RanksToKeep(layer, _maestro.ShrinkThreshold));
        }
    }

    // ---- evaluation --------------------------------------------------------------------------------------

    internal static double Accuracy(ClassifierNetwork net, Tensor x, Tensor y)
    {
        net.eval();
        using var noGrad = no_grad();
        long correct = 0;
        long n = x.shape[0];
        for (long start = 0; start < n; start += EvalBatch)
        {
            using var scope = NewDisposeScope();
            long count = Math.Min(EvalBatch, n - start);
            correct += net.call(x.narrow(0, start, count)).argmax(1).eq(y.narrow(0, start, count)).sum().item<long>();
        }
        net.train();
        return n == 0 ? 0 : (double)correct / n;
    }

    /// <summary>
    /// Scores every truncation K = 1..D of the penultimate features on the validation split in one pass
    /// (logits_K = b + Σ_{j&lt;K} W[:, j]·f_j) and returns the best K, ties to the smaller K (Chen et al. 2021).
    /// </summary>
    private (int K, double Accuracy) SelectBestK(ClassifierNetwork net) => SelectBestK(net, _valX!, _valY!);

    internal static (int K, double Accuracy) SelectBestK(ClassifierNetwork net, Tensor valX, Tensor valY)
    {
        net.eval();
        using var noGrad = no_grad();
        int d = net.FeatureCount;
        var correct = new long[d];
        long n = valX.shape[0];
        var (weight, bias) = net.ClassifierWeights;
        for (long start = 0; start < n; start += 256)
        {
            using var scope = NewDisposeScope();
            long count = Math.Min(256, n - start);
            Tensor features = net.Features(valX.narrow(0, start, count));
            Tensor contributions = features.unsqueeze(2) * weight.t().unsqueeze(0); // count × D × C
            Tensor logits = contributions.cumsum(1) + bias;
            Tensor hits = logits.argmax(2).eq(valY.narrow(0, start, count).unsqueeze(1)).sum(dim: 0).cpu();
            long[] h = hits.data<long>().ToArray();
            for (int k = 0; k < d; k++)
            {
                correct[k] += h[k];
            }
        }
        net.train();
        double[] scores = correct.Select(c => (double)c / Math.Max(1, n)).ToArray();
        int best = NestedDropout.BestK(scores);
        return (best, scores[best - 1]);
    }

    // ---- outcome -----------------------------------------------------------------------------------------

    private TrainingOutcome Finish()
    {
        // A copy: the outcome's model writer outlives this session, which disposes its networks.
        ClassifierNetwork final = _nets[0].Shrunk();
        double testAccuracy = Accuracy(final, _testX, _testY);
        ClassifierNetwork swept = final.IsLowRank ? final : final.ToFactorized();
        ClassifierNetwork? svd = _dense?.ToFactorized();
        var curve = new List<RankPoint>();
        foreach (double fraction in _spec.EffectiveSweep.RankFractions.Order())
        {
            int[] ranks = swept.Factorized.Select(l => RankAt(fraction, l)).ToArray();
            swept.SetTruncation(ranks);
            double accuracy = Accuracy(swept, _testX, _testY);
            swept.SetTruncation(null);
            double? svdAccuracy = null;
            long? svdParameters = null;
            if (svd is not null)
            {
                // The same ranks per layer give the same parameter count as the low-rank point.
                int[] svdRanks = svd.Factorized.Select((l, i) => Math.Min(ranks[i], l.ActiveRank)).ToArray();
                svd.SetTruncation(svdRanks);
                svdAccuracy = Accuracy(svd, _testX, _testY);
                svdParameters = svd.ParameterCount(svdRanks);
                svd.SetTruncation(null);
            }
            curve.Add(new RankPoint(fraction, ranks, swept.ParameterCount(ranks), swept.Flops(ranks), accuracy, svdAccuracy, svdParameters));
        }
        var extra = new Dictionary<string, double>();
        if (_dense is not null)
        {
            extra["denseAccuracy"] = Accuracy(_dense, _testX, _testY);
        }
        return new TrainingOutcome(curve, testAccuracy, stream => ModelFile.Write(stream, final))
        {
            DenseAccuracy = _dense is null ? null : extra["denseAccuracy"],
        };
    }

    /// <summary>Ranks kept at a fraction: ⌈fraction·full rank⌉, at least 1 and at most the active rank.</summary>
    internal static int RankAt(double fraction, IFactorizedLayer layer) =>
        Math.Clamp((int)Math.Ceiling(fraction * layer.FullRank - 1e-9), 1, layer.ActiveRank);

    // ---- helpers -----------------------------------------------------------------------------------------

    private void AddStage(StageKind kind, string name, int epochs) =>
        _stages.Add(new Stage(kind, name, epochs, _stages.Sum(s => s.Epochs)));

    private ClassifierNetwork NewNetwork(ModelSpec model, LabeledData data, int seed)
    {
        torch.manual_seed(seed);
        ClassifierNetwork net = ClassifierNetwork.Create(model, data.SampleShape, data.Classes);
        net.to(_device);
        return net;
    }

    private optim.Optimizer NewOptimizer(ClassifierNetwork net)
    {
        TrainingSpec t = _spec.Training;
        return t.Optimizer == Domain.Jobs.Optimizers.Sgd
            ? optim.SGD(net.parameters(), t.LearningRate, momentum: t.Momentum, weight_decay: t.WeightDecay)
            : optim.Adam(net.parameters(), t.LearningRate, weight_decay: t.WeightDecay);
    }

    private Tensor Rows(LabeledData data, int[] indices)
    {
        int size = data.FeatureSize;
        var rows = new float[(long)indices.Length * size];
        for (int i = 0; i < indices.Length; i++)
        {
            Array.Copy(data.Features, (long)indices[i] * size, rows, (long)i * size, size);
        }
        return tensor(rows, [indices.Length, size], device: _device);
    }

    private static void Shuffle(int[] values, Random random)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    public void Dispose()
    {
        foreach (var optimizer in _optimizers)
        {
            optimizer.Dispose();
        }
        _denseOptimizer?.Dispose();
        foreach (var net in _nets)
        {
            net.Dispose();
        }
        _dense?.Dispose();
        foreach (Tensor? t in new[] { _trainX, _trainY, _trainClean, _valX, _valY, _testX, _testY })
        {
            t?.Dispose();
        }
    }
}
