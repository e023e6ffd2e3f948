using Domain.Jobs;
using TorchSharp;
using Training.Methods;
using Training.Modules;
using Training.Parts;
using static TorchSharp.torch;

namespace Training.Engine;

/// <summary>
/// What one training run holds on its device: the splits, the main networks (co-teaching's two or one), the dense
/// warm-up network and the dense baseline when the plan has those stages, each with its optimiser.
/// </summary>
internal sealed class SessionState : IDisposable
{
    public SessionState(TrainingRequest request, StagePlan plan, Device device)
    {
        Spec = request.Spec;
        Plan = plan;
        Device = device;
        LabeledData train = request.Train;
        int seed = Spec.Training.Seed;

        int[] noisy = Spec.Noise is { Rate: > 0 } noise
            ? LabelNoise.Apply(train.Labels, train.Classes, noise, seed)
            : train.Labels;

        // A validation split of the (noisy) training labels, for nested dropout's K and for model selection.
        int[] trainIdx = Enumerable.Range(0, train.Count).ToArray();
        int[] valIdx = [];
        double fraction = Spec.EffectiveValidationFraction;
        if (fraction > 0)
        {
            Shuffle(trainIdx, new Random(Seeds.Derive(seed, Seeds.Split)));
            int valCount = Math.Clamp((int)(fraction * train.Count), 1, train.Count - 1);
            valIdx = trainIdx[..valCount];
            trainIdx = trainIdx[valCount..];
            Array.Sort(valIdx);
            Array.Sort(trainIdx);
        }
        TrainX = Rows(train, trainIdx);
        TrainY = tensor(trainIdx.Select(i => (long)noisy[i]).ToArray(), device: device);
        TrainClean = tensor(trainIdx.Select(i => noisy[i] == train.Labels[i] ? 1f : 0f).ToArray(), device: device);
        if (valIdx.Length > 0)
        {
            ValX = Rows(train, valIdx);
            ValY = tensor(valIdx.Select(i => (long)noisy[i]).ToArray(), device: device);
        }
        TestX = tensor(request.Test.Features, [request.Test.Count, request.Test.FeatureSize], device: device);
        TestY = tensor(request.Test.Labels.Select(l => (long)l).ToArray(), device: device);

        int netCount = Spec.CoTeaching is null ? 1 : 2;
        var main = new Learner[netCount];
        for (int i = 0; i < netCount; i++)
        {
            // Co-teaching's two networks differ only by their initialisation seed (Han et al. 2018).
            main[i] = NewLearner(Spec.Model, train, Seeds.Derive(seed, Seeds.Init, i), i);
        }
        Main = main;
        ModelSpec dense = Spec.Model with { LowRank = false, MaxRank = null };
        if (plan.Stages.Any(s => s.Kind == StageKind.DenseWarmup))
        {
            Warmup = NewLearner(dense, train, Seeds.Derive(seed, Seeds.Init, 200), -1);
        }
        if (plan.Stages.Any(s => s.Kind == StageKind.DenseBaseline))
        {
            Dense = NewLearner(dense, train, Seeds.Derive(seed, Seeds.Init, 100), -1);
        }
    }

    public JobSpec Spec { get; }

    public StagePlan Plan { get; }

    public Device Device { get; }

    public Tensor TrainX { get; }

    /// <summary>Training labels as trained on (noisy when the spec injects noise).</summary>
    public Tensor TrainY { get; }

    /// <summary>1 where the training label is the true one, else 0 (for label precision).</summary>
    public Tensor TrainClean { get; }

    public Tensor? ValX { get; }

    public Tensor? ValY { get; }

    public Tensor TestX { get; }

    public Tensor TestY { get; }

    public IReadOnlyList<Learner> Main { get; }

    public Learner? Warmup { get; }

    public Learner? Dense { get; }

    /// <summary>The validation split; only parts that the spec gives one to may ask.</summary>
    public (Tensor X, Tensor Y) Validation =>
        (ValX ?? throw new InvalidOperationException("This run has no validation split."), ValY!);

    /// <summary>The networks a stage trains.</summary>
    public IReadOnlyList<Learner> LearnersFor(StageKind stage) => stage switch
    {
        StageKind.DenseWarmup => [Warmup!],
        StageKind.DenseBaseline => [Dense!],
        // The nested stage trains every network (both co-teaching peers when co-teaching follows).
        StageKind.CoTeaching or StageKind.Nested => Main,
        _ => [Main[0]],
    };

    /// <summary>Every learner in checkpoint order.</summary>
    public IEnumerable<Learner> All => Main.Concat(new[] { Warmup, Dense }.OfType<Learner>());

    private Learner NewLearner(ModelSpec model, LabeledData data, int seed, int index)
    {
        torch.manual_seed(seed);
        // The weight compander reparameterises the main networks only; the dense warm-up and baseline stay plain.
        ClassifierNetwork net = ClassifierNetwork.Create(model, data.SampleShape, data.Classes, index >= 0 ? Spec.Compander : null);
        net.to(Device);
        TrainingSpec t = Spec.Training;
        optim.Optimizer optimizer = t.Optimizer == Domain.Jobs.Optimizers.Sgd
            ? optim.SGD(net.parameters(), t.LearningRate, momentum: t.Momentum, weight_decay: t.WeightDecay)
            : optim.Adam(net.parameters(), t.LearningRate, weight_decay: t.WeightDecay);
        return new Learner(net, optimizer, index);
    }

    private Tensor Rows(LabeledData data, int[] indices)
    {
        int size = data.FeatureSize;
        var rows = new float[(long)indices.Length * size];
        for (int i = 0; i < indices.Length; i++)
        {
            Array.Copy(data.Features, (long)indices[i] * size, rows, (long)i * size, size);
        }
        return tensor(rows, [indices.Length, size], device: Device);
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
        foreach (Learner learner in All)
        {
            learner.Optimizer.Dispose();
            learner.Net.Dispose();
        }
        foreach (Tensor? t in new[] { TrainX, TrainY, TrainClean, ValX, ValY, TestX, TestY })
        {
            t?.Dispose();
        }
    }
}
