using System.Diagnostics;
using Domain.Common;
using Domain.Jobs;
using TorchSharp;
using Training.Methods;
using Training.Modules;
using Training.Parts;
using Training.Parts.Hooks;
using static TorchSharp.torch;

namespace Training.Engine;

/// <summary>
/// The loop of one run of <see cref="TrainingEngine.Run"/>: it walks the job's <see cref="StagePlan"/> and, per step,
/// runs the method's parts (<see cref="MethodComposer"/>): transforms and full passes (features, then the classifier),
/// one selector, the loss terms, an optimiser step per learner; then the epoch hooks. Every per-epoch random draw
/// comes from (seed, epoch), so a checkpoint holds only networks, optimisers, the epoch and the parts' own state. Nothing is read to the host
/// inside a step (<see cref="HostSync"/>): metrics accumulate on the device and are read once per epoch. A part may
/// restrict an epoch to some samples (<see cref="TrainingPart.EpochSamples"/>); the epoch then shuffles and reports over those.
/// </summary>
internal sealed class TrainingSession : IDisposable
{
    private readonly JobSpec _spec;
    private readonly StagePlan _plan;
    private readonly Device _device;
    private readonly SessionState _state;
    private readonly IReadOnlyList<TrainingPart> _parts;
    private readonly bool _reportPrecision;
    private int _epochsDone;

    public TrainingSession(TrainingRequest request, Device device)
    {
        _spec = request.Spec;
        _device = device;
        LabeledData train = request.Train;
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
        _plan = StagePlan.From(_spec);
        _state = new SessionState(request, _plan, device);
        _parts = MethodComposer.Compose(_state);
        _reportPrecision = _spec.Noise is not null || _spec.CoTeaching is not null;
    }

    public TrainingOutcome Run(ITrainingObserver observer, Stream? resumeFrom, CancellationToken cancellationToken)
    {
        if (resumeFrom is not null)
        {
            Checkpoint.Read(resumeFrom, this);
        }
        while (_epochsDone < _plan.TotalEpochs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            EpochReport report = RunEpoch(cancellationToken);
            _epochsDone++;
            observer.OnEpochCompleted(report, stream => Checkpoint.Write(stream, this));
        }
        cancellationToken.ThrowIfCancellationRequested();
        return Finish();
    }

    // ---- checkpoint access -------------------------------------------------------------------------------

    internal int EpochsDone { get => _epochsDone; set => _epochsDone = value; }

    internal SessionState State => _state;

    internal IReadOnlyList<TrainingPart> Parts => _parts;

    internal string Fingerprint =>
        $"{_spec.Model.Kind}|{string.Join(",", _spec.Model.Hidden)}|{_spec.Model.LowRank}|{_spec.Model.MaxRank}|{_state.Main.Count}|"
        + $"{string.Join(",", _plan.Stages.Select(s => $"{s.Name}:{s.Epochs}"))}|{_spec.Training.Seed}|{_spec.Training.Optimizer}|"
        + string.Join(",", _parts.Select(p => p.Name));

    // ---- epochs ------------------------------------------------------------------------------------------

    private EpochReport RunEpoch(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        int seed = _spec.Training.Seed;
        PlannedStage stage = _plan.StageAt(_epochsDone);
        int epochInStage = _epochsDone - stage.FirstEpoch;
        torch.manual_seed(Seeds.Derive(seed, Seeds.Epoch, _epochsDone));
        var random = new Random(Seeds.Derive(seed, Seeds.Epoch, _epochsDone, 1));

        IReadOnlyList<Learner> learners = _state.LearnersFor(stage.Kind);
        double lr = LearningRate(stage, epochInStage);
        foreach (Learner learner in learners)
        {
            foreach (var group in learner.Optimizer.ParamGroups)
            {
                group.LearningRate = lr;
            }
            learner.Net.train();
        }

        var epoch = new EpochContext(_state, stage, epochInStage, learners, random);
        List<TrainingPart> active = _parts.Where(p => p.ActiveIn(stage.Kind)).ToList();
        ForwardTransform[] transforms = active.OfType<ForwardTransform>().ToArray();
        SampleSelector selector = active.OfType<SampleSelector>().First();
        LossTerm[] terms = active.OfType<LossTerm>().ToArray();
        foreach (TrainingPart part in active)
        {
            part.OnEpochStart(epoch);
        }

        // A part may restrict the epoch to some samples (informative-subset selection): the batches then hold only
        // those, so a selector such as co-teaching's acts within them.
        Tensor? samples = null;
        foreach (TrainingPart part in active)
        {
            if (part.EpochSamples(epoch) is Tensor restricted)
            {
                samples = samples is null ? restricted : throw new InvalidOperationException($"Two parts restrict the samples of epoch {_epochsDone + 1}.");
            }
        }
        long n = samples?.shape[0] ?? _state.TrainX.shape[0];
        int batch = (int)Math.Max(1, Math.Min(_spec.Training.BatchSize, n));
        using Tensor order = Shuffle(n, Seeds.Derive(seed, Seeds.Epoch, _epochsDone, 2), samples);
        using Tensor lossSum = zeros(1, dtype: float64, device: _device);
        using Tensor correct = zeros(1, dtype: float64, device: _device);
        using Tensor selected = zeros(1, dtype: float64, device: _device);
        using Tensor selectedClean = zeros(1, dtype: float64, device: _device);
        for (long start = 0; start < n; start += batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var step = HostSync.Step();
            long count = Math.Min(batch, n - start);
            Tensor idx = order.narrow(0, start, count);
            var context = new StepContext(epoch, _state.TrainX.index_select(0, idx), _state.TrainY.index_select(0, idx), idx,
                learners.Select(l => new LearnerStep(l)).ToArray());
            Step(context, transforms, selector, terms, lossSum, correct);
            Tensor clean = _state.TrainClean.index_select(0, idx);
            foreach (LearnerStep learner in context.Learners)
            {
                if (learner.Weights is null)
                {
                    selected.add_(count);
                    selectedClean.add_(clean.sum());
                }
                else
                {
                    selected.add_(learner.Weights.sum());
                    selectedClean.add_((learner.Weights * clean).sum());
                }
            }
        }

        foreach (TrainingPart part in active)
        {
            part.OnEpochEnd(epoch);
        }
        return Report(epoch, lr, clock, HostSync.Scalar(lossSum) / Math.Max(1, n), HostSync.Scalar(correct) / Math.Max(1, n),
            HostSync.Scalar(selectedClean) / Math.Max(1, HostSync.Scalar(selected)));
    }

    /// <summary>One step: full passes, selection, extra passes, the summed loss terms and an optimiser step per learner.</summary>
    private static void Step(StepContext step, ForwardTransform[] transforms, SampleSelector selector, LossTerm[] terms, Tensor lossSum, Tensor correct)
    {
        foreach (LearnerStep learner in step.Learners)
        {
            learner.Net.SetTruncation(null);
            foreach (ForwardTransform transform in transforms)
            {
                transform.BeforeFullPass(learner, step);
            }
            learner.Features = learner.Net.MaskedFeatures(step.X);
            learner.Logits = learner.Net.Head(learner.Features);
            learner.PerSampleLoss = nn.functional.cross_entropy(learner.Logits, step.Y, reduction: nn.Reduction.None);
            foreach (ForwardTransform transform in transforms)
            {
                transform.AfterFullPass(learner, step);
            }
        }
        selector.Select(step);
        foreach (LearnerStep learner in step.Learners)
        {
            foreach (ForwardTransform transform in transforms)
            {
                transform.AfterSelection(learner, step);
            }
            Tensor? loss = null;
            foreach (LossTerm term in terms)
            {
                if (term.Compute(learner, step) is Tensor value)
                {
                    loss = loss is null ? value : loss + value;
                }
            }
            if (loss is null)
            {
                throw new InvalidOperationException("No loss term applies to this learner.");
            }
            learner.Learner.Optimizer.zero_grad();
            loss.backward();
            learner.Learner.Optimizer.step();
            if (learner.Learner == step.Epoch.Learners[0])
            {
                lossSum.add_(loss.detach() * step.Count);
                correct.add_(learner.Logits.detach().argmax(1).eq(step.Y).sum());
            }
        }
    }

    private EpochReport Report(EpochContext epoch, double lr, Stopwatch clock, double loss, double trainAccuracy, double precision)
    {
        PlannedStage stage = epoch.Stage;
        var extra = epoch.Extra;
        extra["learningRate"] = lr;
        ClassifierNetwork main = _state.Main[0].Net;
        bool denseStage = stage.Kind is StageKind.DenseBaseline or StageKind.DenseWarmup;
        if (!denseStage && main.IsLowRank)
        {
            extra["parameters"] = main.ParameterCount();
            IReadOnlyList<IFactorizedLayer> layers = main.Factorized;
            for (int l = 0; l < layers.Count; l++)
            {
                extra[$"rank{l}"] = layers[l].ActiveRank;
            }
        }
        // The first learner as it would be deployed now (at the K validation prefers, during nested dropout).
        ClassifierNetwork reported = epoch.Learners[0].Net;
        int? truncation = reported.FeatureTruncation;
        reported.FeatureTruncation = epoch.ReportTruncation ?? truncation;
        double testAccuracy = Evaluation.Accuracy(reported, _state.TestX, _state.TestY);
        reported.FeatureTruncation = truncation;
        if (stage.Kind == StageKind.CoTeaching)
        {
            extra["testAccuracy2"] = Evaluation.Accuracy(epoch.Learners[1].Net, _state.TestX, _state.TestY);
        }
        extra["rssBytes"] = Environment.WorkingSet;
        return new EpochReport(
            _epochsDone + 1,
            _plan.TotalEpochs,
            stage.Name,
            loss,
            trainAccuracy,
            testAccuracy,
            _reportPrecision ? precision : null,
            clock.Elapsed.TotalSeconds,
            extra);
    }

    /// <summary>
    /// The epoch's learning rate. A dense warm-up and the training that continues from it share one schedule over
    /// both stages, so a decaying schedule decays once over the whole recipe, as it does for the dense baseline.
    /// </summary>
    private double LearningRate(PlannedStage stage, int epochInStage)
    {
        PlannedStage? warmup = _plan.Stages.FirstOrDefault(s => s.Kind == StageKind.DenseWarmup);
        if (warmup is not null && stage.Kind is StageKind.DenseWarmup or StageKind.Train)
        {
            int span = warmup.Epochs + _plan.Stages.Where(s => s.Kind == StageKind.Train).Sum(s => s.Epochs);
            int position = stage.Kind == StageKind.Train ? warmup.Epochs + epochInStage : epochInStage;
            return LearningRateSchedule.At(_spec.Training, position, span);
        }
        return LearningRateSchedule.At(_spec.Training, epochInStage, stage.Epochs);
    }

    /// <summary>
    /// The epoch's batch order: a seeded permutation made once per epoch and moved to the device; of
    /// <paramref name="samples"/> when a part restricts the epoch, else of the whole training split.
    /// </summary>
    private Tensor Shuffle(long n, int seed, Tensor? samples)
    {
        using var generator = new Generator((ulong)seed);
        using Tensor permutation = randperm(n, generator: generator);
        if (samples is null)
        {
            return permutation.to(_device);
        }
        using Tensor onDevice = permutation.to(samples.device);
        return samples.index_select(0, onDevice);
    }

    // ---- outcome -----------------------------------------------------------------------------------------

    private TrainingOutcome Finish()
    {
        ClassifierNetwork shipped = _state.Main[0].Net;
        BestValidationSelection? selection = _parts.OfType<BestValidationSelection>().FirstOrDefault();
        // Without selection the last epoch of the shipping stage (the dense baseline, if any, trains after it).
        PlannedStage shipping = _plan.Stages.Last(s => s.Kind != StageKind.DenseBaseline);
        int shippedEpoch = shipping.FirstEpoch + shipping.Epochs;
        double? validationAccuracy = null;
        if (selection is not null && selection.Restore(shipped))
        {
            shippedEpoch = selection.BestEpoch + 1;
            validationAccuracy = selection.BestAccuracy;
        }
        // A copy: the outcome's model writer outlives this session, which disposes its networks.
        ClassifierNetwork final = shipped.Shrunk();
        double testAccuracy = Evaluation.Accuracy(final, _state.TestX, _state.TestY);
        ClassifierNetwork swept = final.IsLowRank ? final : final.ToFactorized();
        ClassifierNetwork? svd = _state.Dense?.Net.ToFactorized();
        var curve = new List<RankPoint>();
        foreach (double fraction in _spec.EffectiveSweep.RankFractions.Order())
        {
            int[] ranks = swept.Factorized.Select(l => RankAt(fraction, l)).ToArray();
            swept.SetTruncation(ranks);
            double accuracy = Evaluation.Accuracy(swept, _state.TestX, _state.TestY);
            swept.SetTruncation(null);
            double? svdAccuracy = null;
            long? svdParameters = null;
            if (svd is not null)
            {
                // The same ranks per layer give the same parameter count as the low-rank point.
                int[] svdRanks = svd.Factorized.Select((l, i) => Math.Min(ranks[i], l.ActiveRank)).ToArray();
                svd.SetTruncation(svdRanks);
                svdAccuracy = Evaluation.Accuracy(svd, _state.TestX, _state.TestY);
                svdParameters = svd.ParameterCount(svdRanks);
                svd.SetTruncation(null);
            }
            curve.Add(new RankPoint(fraction, ranks, swept.ParameterCount(ranks), swept.Flops(ranks), accuracy, svdAccuracy, svdParameters));
        }
        if (!ReferenceEquals(swept, final))
        {
            swept.Dispose();
        }
        svd?.Dispose();
        return new TrainingOutcome(curve, testAccuracy, stream => ModelFile.Write(stream, final))
        {
            DenseAccuracy = _state.Dense is null ? null : Evaluation.Accuracy(_state.Dense.Net, _state.TestX, _state.TestY),
            ShippedEpoch = shippedEpoch,
            ModelSelection = _spec.EffectiveModelSelection,
            ValidationAccuracy = validationAccuracy,
        };
    }

    /// <summary>Ranks kept at a fraction: ⌈fraction·full rank⌉, at least 1 and at most the active rank.</summary>
    internal static int RankAt(double fraction, IFactorizedLayer layer) =>
        Math.Clamp((int)Math.Ceiling(fraction * layer.FullRank - 1e-9), 1, layer.ActiveRank);

    public void Dispose()
    {
        // Parts that hold device tensors (e.g. ELR's per-example targets) free them with the session.
        foreach (IDisposable part in _parts.OfType<IDisposable>())
        {
            part.Dispose();
        }
        _state.Dispose();
    }
}
