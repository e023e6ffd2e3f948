using static TorchSharp.torch;

namespace Training.Methods;

/// <summary>
/// Sample selection of co-teaching (Han et al. 2018, "Co-teaching: Robust Training of Deep Neural Networks with
/// Extremely Noisy Labels"; bhanML/Co-teaching) and co-teaching+ (Yu et al. 2019, "How does Disagreement Help
/// Generalization against Label Corruption?"; xingruiyu/coteaching_plus).
/// </summary>
public static class CoTeaching
{
    /// <summary>R(t) = τ·min((t/T_k)^c, 1), t the number of epochs already completed in the co-teaching stage.</summary>
    public static double ForgetRate(int epoch, double tau, int gradualEpochs, double exponent = 1) =>
        tau * Math.Min(Math.Pow((double)epoch / gradualEpochs, exponent), 1.0);

    /// <summary>How many samples of a batch of <paramref name="batch"/> are kept: ⌊(1 − R)·B⌋, at least 1.</summary>
    public static int Keep(int batch, double forgetRate) => Math.Max(1, (int)Math.Floor((1 - forgetRate) * batch + 1e-9));

    /// <summary>
    /// Indices (into the batch) each network selects: the <paramref name="keep"/> smallest of its own per-sample losses.
    /// The peer trains on them: network 1 updates on <c>Second</c>, network 2 on <c>First</c>.
    /// </summary>
    public static (Tensor First, Tensor Second) SmallLoss(Tensor loss1, Tensor loss2, int keep)
    {
        using var scope = NewDisposeScope();
        Tensor first = loss1.detach().sort(stable: true).Indices.narrow(0, 0, Math.Min(keep, (int)loss1.shape[0]));
        Tensor second = loss2.detach().sort(stable: true).Indices.narrow(0, 0, Math.Min(keep, (int)loss2.shape[0]));
        return (first.MoveToOuterDisposeScope(), second.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Co-teaching+: restrict to samples where the two networks' predictions disagree, then keep the
    /// ⌊(1 − R)·|disagreement|⌋ smallest losses of each. Falls back to plain co-teaching on the whole batch when
    /// the networks agree on every sample.
    /// </summary>
    public static (Tensor First, Tensor Second) Disagreement(Tensor logits1, Tensor logits2, Tensor loss1, Tensor loss2, double forgetRate)
    {
        using var scope = NewDisposeScope();
        Tensor disagree = logits1.argmax(1).ne(logits2.argmax(1)).nonzero().flatten();
        long count = disagree.shape[0];
        if (count == 0)
        {
            var (a, b) = SmallLoss(loss1, loss2, Keep((int)loss1.shape[0], forgetRate));
            return (a.MoveToOuterDisposeScope(), b.MoveToOuterDisposeScope());
        }
        var (f, s) = SmallLoss(loss1.index_select(0, disagree), loss2.index_select(0, disagree), Keep((int)count, forgetRate));
        return (disagree.index_select(0, f).MoveToOuterDisposeScope(), disagree.index_select(0, s).MoveToOuterDisposeScope());
    }
}
