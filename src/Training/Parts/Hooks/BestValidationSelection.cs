using Domain.Jobs;
using Training.Engine;
using Training.Modules;

namespace Training.Parts.Hooks;

/// <summary>
/// Model selection on a validation split of the (noisy) training labels, never on test labels: after every epoch of
/// the stage that produces the shipped model, each learner is scored on the split and the best one so far is kept
/// (weights, ranks and feature truncation). Under label noise the majority label of a class is still its true one,
/// so accuracy on noisy held-out labels ranks models like clean accuracy does, in expectation.
/// </summary>
internal sealed class BestValidationSelection(StageKind shippingStage) : EpochHook
{
    private int _bestEpoch = -1;
    private int _bestLearner = -1;
    private double _bestAccuracy = double.NegativeInfinity;
    private byte[]? _snapshot;

    public override bool ActiveIn(StageKind stage) => stage == shippingStage;

    /// <summary>0-based epoch of the kept model, or −1 before the first scored epoch.</summary>
    public int BestEpoch => _bestEpoch;

    /// <summary>Validation accuracy of the kept model.</summary>
    public double BestAccuracy => _bestAccuracy;

    public override void OnEpochEnd(EpochContext epoch)
    {
        var (validationX, validationY) = epoch.Session.Validation;
        foreach (Learner learner in epoch.Learners)
        {
            ClassifierNetwork net = learner.Net;
            int? truncation = net.FeatureTruncation;
            if (learner.Index == 0 && epoch.ReportTruncation is int k)
            {
                net.FeatureTruncation = k;
            }
            double accuracy = Evaluation.Accuracy(net, validationX, validationY);
            if (accuracy > _bestAccuracy)
            {
                _bestAccuracy = accuracy;
                _bestEpoch = epoch.Epoch;
                _bestLearner = learner.Index;
                _snapshot = NetworkState.Capture(net);
            }
            net.FeatureTruncation = truncation;
            epoch.Extra[learner.Index == 0 ? "validationAccuracy" : $"validationAccuracy{learner.Index + 1}"] = accuracy;
        }
        epoch.Extra["selectedEpoch"] = _bestEpoch + 1;
    }

    /// <summary>Loads the kept model into <paramref name="net"/>; false when nothing was scored.</summary>
    public bool Restore(ClassifierNetwork net)
    {
        if (_snapshot is null)
        {
            return false;
        }
        NetworkState.Restore(net, _snapshot);
        return true;
    }

    public override void WriteState(BinaryWriter writer)
    {
        writer.Write(_bestEpoch);
        writer.Write(_bestLearner);
        writer.Write(_bestAccuracy);
        writer.Write(_snapshot?.Length ?? -1);
        if (_snapshot is not null)
        {
            writer.Write(_snapshot);
        }
    }

    public override void ReadState(BinaryReader reader)
    {
        _bestEpoch = reader.ReadInt32();
        _bestLearner = reader.ReadInt32();
        _bestAccuracy = reader.ReadDouble();
        int length = reader.ReadInt32();
        _snapshot = length < 0 ? null : reader.ReadBytes(length);
        if (_snapshot is not null && _snapshot.Length != length)
        {
            throw new EndOfStreamException("The checkpoint is truncated.");
        }
    }
}
