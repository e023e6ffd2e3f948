using System.Diagnostics;
using Domain.Jobs;
using Training.Engine;
using Training.Methods;
using static TorchSharp.torch;

namespace Training.Parts.Hooks;

/// <summary>
/// Informative-subset selection (INGENIOUS: Renduchintala et al. 2023; Efficient-AI/ingenious, MIT licence, read for
/// the recipe, our own code). Counting the epochs of the stages it acts in, the first <see cref="SubsetSpec.WarmStartEpochs"/>
/// train on all data; then, at the start of every <see cref="SubsetSpec.ReselectEvery"/>-th epoch, the hook chooses
/// round(fraction·N) samples of the training split and the epochs up to the next selection train on those only.
/// <para>
/// <b>Choice.</b> The first main network's penultimate features as the classifier sees them
/// (<see cref="Modules.ClassifierNetwork.MaskedFeatures"/>, evaluation mode, no gradient), L2-normalised; the split is
/// cut into random partitions and classes of the (possibly noisy) training labels, each with a budget proportional to
/// its size (<see cref="FacilityLocation.Groups"/>); per group the similarity (1 + cos)/2, non-negative so facility location is
/// monotone, goes to the host and <see cref="FacilityLocation.LazyGreedy"/> picks the group's share. Mode <c>random</c>
/// draws a uniformly random subset of the same size at the same epochs.
/// </para>
/// <para>
/// <b>Memory.</b> Similarities exist for one group at a time: at most ⌈N/P⌉ ≤ <see cref="SubsetSpec.MaxPartitionSamples"/>
/// samples (P is raised where needed, <see cref="SubsetSpec.EffectivePartitions"/>), so at most 64 MiB on the device and
/// as much on the host, next to the N × D normalised features on the device.
/// </para>
/// <para>
/// <b>Cost.</b> The epoch iterates only the subset (<see cref="TrainingPart.EpochSamples"/>): the loop shuffles the
/// selected indices, so an epoch costs fraction × a full epoch, and a co-teaching selector picks its small-loss samples
/// within the subset's batches. The selection (features, similarities, greedy) runs between epochs, where host reads
/// are allowed; its time is the report's <c>selectionSeconds</c> (part of the epoch's seconds), 0 in other epochs.
/// </para>
/// <para>
/// <b>State.</b> The current subset and the epoch it was chosen at are checkpoint state; a run resumed between
/// selections trains on the same subset, and one resumed at a selection epoch chooses again from the restored network.
/// </para>
/// </summary>
internal sealed class InformativeSubset(SubsetSpec spec, int seed) : EpochHook, IDisposable
{
    private const int FeatureBatch = 1000;

    private int[]? _subset;
    private int _selectedAt = -1;
    private Tensor? _onDevice;
    private long[]? _labels;

    public override bool ActiveIn(StageKind stage) => stage is StageKind.Train or StageKind.Nested or StageKind.CoTeaching;

    /// <summary>The current subset (sorted indices into the training split), or null while training on all data.</summary>
    internal IReadOnlyList<int>? Subset => _subset;

    public override void OnEpochStart(EpochContext epoch)
    {
        int position = ActivePosition(epoch);
        epoch.Extra["selectionSeconds"] = 0;
        if (position < spec.WarmStartEpochs)
        {
            Clear();
        }
        else if ((position - spec.WarmStartEpochs) % spec.ReselectEvery == 0 || _subset is null)
        {
            var clock = Stopwatch.StartNew();
            Select(epoch);
            epoch.Extra["selectionSeconds"] = clock.Elapsed.TotalSeconds;
        }
        long n = epoch.Session.TrainX.shape[0];
        epoch.Extra["subsetSize"] = _subset?.Length ?? n;
        if (_subset is not null)
        {
            epoch.Extra["subsetPartitions"] = spec.EffectivePartitions(n);
        }
    }

    public override Tensor? EpochSamples(EpochContext epoch)
    {
        if (_subset is null)
        {
            return null;
        }
        _onDevice ??= tensor(_subset.Select(i => (long)i).ToArray(), device: epoch.Session.Device);
        return _onDevice;
    }

    /// <summary>The epoch's 0-based position among the plan's epochs in stages this part acts in.</summary>
    private int ActivePosition(EpochContext epoch) =>
        epoch.Session.Plan.Stages.Where(s => s.FirstEpoch < epoch.Stage.FirstEpoch && ActiveIn(s.Kind)).Sum(s => s.Epochs) + epoch.EpochInStage;

    private void Select(EpochContext epoch)
    {
        SessionState session = epoch.Session;
        long n = session.TrainX.shape[0];
        int budget = spec.Budget(n);
        var random = new Random(Seeds.Derive(seed, Seeds.Subset, epoch.Epoch));
        int[] chosen;
        if (spec.Mode == SubsetModes.Random)
        {
            int[] all = Enumerable.Range(0, (int)n).ToArray();
            random.Shuffle(all);
            chosen = all[..budget];
        }
        else
        {
            _labels ??= HostSync.Longs(session.TrainY);
            var groups = FacilityLocation.Groups(_labels, spec.EffectivePartitions(n), budget, random);
            using Tensor features = NormalisedFeatures(epoch.Learners[0], session.TrainX);
            var picked = new List<int>(budget);
            foreach (var (members, share) in groups)
            {
                if (share >= members.Length)
                {
                    picked.AddRange(members);
                }
                else if (share > 0)
                {
                    float[] similarity = Similarity(features, members);
                    picked.AddRange(FacilityLocation.LazyGreedy(similarity, members.Length, share).Select(i => members[i]));
                }
            }
            chosen = [.. picked];
        }
        Array.Sort(chosen);
        Clear();
        _subset = chosen;
        _selectedAt = epoch.Epoch;
    }

    /// <summary>The learner's masked penultimate features of every training sample, L2-normalised (N × D, on the device).</summary>
    private static Tensor NormalisedFeatures(Learner learner, Tensor x)
    {
        learner.Net.eval();
        using var noGrad = no_grad();
        long n = x.shape[0];
        var batches = new List<Tensor>();
        for (long start = 0; start < n; start += FeatureBatch)
        {
            batches.Add(learner.Net.MaskedFeatures(x.narrow(0, start, Math.Min(FeatureBatch, n - start))));
        }
        learner.Net.train();
        using Tensor features = cat(batches, 0);
        foreach (Tensor batch in batches)
        {
            batch.Dispose();
        }
        return nn.functional.normalize(features, p: 2, dim: 1);
    }

    /// <summary>(1 + cos)/2 between the members' features, row-major m × m, on the host.</summary>
    private static float[] Similarity(Tensor features, int[] members)
    {
        using var scope = NewDisposeScope();
        Tensor index = tensor(members.Select(i => (long)i).ToArray(), device: features.device);
        Tensor rows = features.index_select(0, index);
        return HostSync.Floats(rows.mm(rows.t()).add_(1).mul_(0.5));
    }

    private void Clear()
    {
        _subset = null;
        _selectedAt = -1;
        _onDevice?.Dispose();
        _onDevice = null;
    }

    public override void WriteState(BinaryWriter writer)
    {
        writer.Write(_selectedAt);
        writer.Write(_subset?.Length ?? -1);
        foreach (int index in _subset ?? [])
        {
            writer.Write(index);
        }
    }

    public override void ReadState(BinaryReader reader)
    {
        Clear();
        int selectedAt = reader.ReadInt32();
        int count = reader.ReadInt32();
        if (count >= 0)
        {
            var subset = new int[count];
            for (int i = 0; i < count; i++)
            {
                subset[i] = reader.ReadInt32();
            }
            _subset = subset;
            _selectedAt = selectedAt;
        }
    }

    public void Dispose() => Clear();
}
