using Domain.Jobs;
using Training.Engine;

namespace Training.Parts.Transforms;

/// <summary>
/// Weight compander, unverified form (after Cakaj, Mehnert, Yang 2023, arXiv 2306.16993; see
/// <see cref="Modules.WeightCompander"/> for the function w = a·tanh(b·θ/a) and why it is not the paper's verified form).
/// The reparameterisation itself lives in the main networks: <see cref="SessionState"/> builds them with
/// <see cref="Modules.ClassifierNetwork.Create"/>'s compander, so each body weight tensor is stored raw and every forward
/// pass (full, ordered-dropout, evaluation) reads it through its compander, and the learnable a and b are parameters that
/// the optimiser, the state dicts and the checkpoints see from the first step. This part therefore has no per-step work
/// and no state of its own: it checks that the main networks are companded and puts the method in the run's
/// fingerprint and checkpoint part list, so a checkpoint of another method is refused. The dense warm-up and the dense
/// baseline stay plain. After training, <see cref="Modules.ClassifierNetwork.Shrunk"/> bakes the effective weights into
/// a plain network, which is what is written (model file) and exported (ONNX).
/// </summary>
internal sealed class WeightCompanding : ForwardTransform
{
    public WeightCompanding(SessionState state)
    {
        if (state.Main.Any(learner => !learner.Net.IsCompanded))
        {
            throw new InvalidOperationException("The weight compander needs main networks built with a compander.");
        }
    }

    public override bool ActiveIn(StageKind stage) => stage is StageKind.Train or StageKind.Nested or StageKind.CoTeaching;
}
